# profile: time the front's candidates on a quiet machine (this job has every core).
from paretonas.profile import profile_front
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    profile_front,
    snakemake.input.study,
    snakemake.input.trials,
    snakemake.output.latency,
    snakemake.output.record,
    max_models=snakemake.params.max_models,
    rounds=snakemake.params.rounds,
    runtime=snakemake.params.runtime,
    baseline=snakemake.params.baseline,
)
