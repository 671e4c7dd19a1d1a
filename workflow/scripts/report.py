# report: summary tables and figures of the search and its finalists.
from paretonas.reporting import write_report
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    write_report,
    snakemake.input.study,
    snakemake.input.finalists,
    list(snakemake.input.metrics),
    snakemake.params.out,
    plotlyjs="directory",
    latency_csv=snakemake.input.latency,
    profile_json=snakemake.input.profile,
    deployment_csv=next(iter(snakemake.input.deployment), None),
    baseline_json=snakemake.input.baseline,
    estimate=snakemake.params.estimate,
    benchmarks_dir=snakemake.params.benchmarks,
)
