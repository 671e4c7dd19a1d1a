# search_snapshot: freeze the finished study (one SQLite file) and its trial archives; trials.csv.
from paretonas.search.snapshot import snapshot_study
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    snapshot_study,
    snakemake.input.study,
    snakemake.output.study,
    snakemake.output.trials,
    snakemake.output.table,
)
