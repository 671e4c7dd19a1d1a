# baseline: a plain 3-conv CNN trained on the finalists' splits as a finalist is; tested once.
from paretonas.baseline import train_baseline
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    train_baseline,
    snakemake.input.space,
    snakemake.params.data,
    snakemake.params.out,
    seed=snakemake.params.seed,
    epochs=snakemake.params.epochs,
    steps=snakemake.params.steps,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
