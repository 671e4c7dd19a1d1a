# profile_finalists: time the finalists' float and int8 files on a quiet machine.
from paretonas.finalist_latency import profile_finalists
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    profile_finalists,
    list(snakemake.input.metrics),
    snakemake.output.latency,
    runtime=snakemake.params.runtime,
    rounds=snakemake.params.rounds,
    baseline=snakemake.params.baseline,
)
