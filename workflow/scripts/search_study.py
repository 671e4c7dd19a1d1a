# search_study: name the study of this space, data and objectives; create it; write study.json.
from paretonas.search.worker import start_study
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    start_study,
    snakemake.output.study,
    snakemake.input.space,
    snakemake.params.data,
    objectives=snakemake.params.objectives,
    constraints=snakemake.params.constraints,
    seed=snakemake.params.seed,
    storage=snakemake.params.storage,
    storage_env=snakemake.params.storage_env,
)
