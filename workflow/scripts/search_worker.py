# search_worker: run trials on the shared study until it holds n_trials finished ones.
from paretonas.search.worker import WorkerOptions, run_search_worker
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    run_search_worker,
    snakemake.input.study,
    snakemake.params.data,
    int(snakemake.wildcards.worker),
    WorkerOptions(**snakemake.params.options),
    snakemake.output.report,
)
