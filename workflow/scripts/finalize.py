# finalize: retrain finalist {rank} from its archived YAMLs on the full data; test; export.
from paretonas.finalize import finalize_rank
from paretonas.workflow_step import run_step

run_step(
    snakemake.log[0],
    finalize_rank,
    snakemake.input.finalists,
    int(snakemake.wildcards.rank),
    snakemake.params.data,
    snakemake.params.out,
    epochs=snakemake.params.epochs,
    steps=snakemake.params.steps,
    device=snakemake.params.device,
    export=snakemake.params.export,
    threads=snakemake.threads,
    quantize=snakemake.params.quantize,
)
