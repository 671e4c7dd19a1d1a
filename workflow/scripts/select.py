# select: the snapshot's Pareto front -> pareto.csv, and its K finalists -> finalists.yaml.
from paretonas.select import write_selection
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    write_selection,
    snakemake.input.study,
    snakemake.params.k,
    snakemake.output.pareto,
    snakemake.output.finalists,
    snakemake.params.min_relative_score,
    snakemake.input.trials,
    latency_csv=snakemake.input.latency,
    min_f1=snakemake.params.min_f1,
    f1_noise=snakemake.params.f1_noise,
)
