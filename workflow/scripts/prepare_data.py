# prepare_data: the configured source -> stratified splits + manifest (paretonas.data).
from paretonas.data import prepare_data
from paretonas.workflow_step import run_step

config = {"seed": snakemake.params.seed, "data": snakemake.params.data}
run_step(snakemake.log[0], prepare_data, config, snakemake.params.out)
