# Finalize: retrain each finalist from its archived YAMLs on the full data; test; export.
# A slot that select left empty gets a metrics.json that says why, and nothing else.


rule finalize:
    input:
        finalists=f"{RESULTS}/select/finalists.yaml",
        trials=f"{SNAPSHOT}/trials",
        manifest=f"{DATA_DIR}/manifest.json",
        splits=data_outputs(),
    output:
        # the record of the slot; beside it (unless select left the slot empty) model.yaml,
        # hparams.yaml, weights.pt and the exports, which no later step reads
        metrics=f"{RESULTS}/finalists/{{rank}}/metrics.json",
    params:
        data=data_dir,
        out=lambda wildcards, output: os.path.dirname(output.metrics),
        epochs=config["finalize"]["epochs"],
        steps=config["finalize"]["steps"],
        device=config["finalize"]["device"],
        export=config["finalize"]["export"],
        quantize=config["finalize"]["quantize"],
        code=code("paretonas.finalize"),
    log:
        f"{RESULTS}/logs/finalize/{{rank}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/finalize/{{rank}}.tsv"
    wildcard_constraints:
        rank=r"\d+",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/finalize.py"
