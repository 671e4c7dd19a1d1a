# Finalize: retrain each finalist from its archived YAMLs on the full data; test; export.


rule finalize:
    input:
        finalists=f"{RESULTS}/select/finalists.yaml",
        trials=f"{SNAPSHOT}/trials",
        manifest=f"{DATA_DIR}/manifest.json",
        splits=data_outputs(),
    output:
        metrics=f"{RESULTS}/finalists/{{rank}}/metrics.json",
        weights=f"{RESULTS}/finalists/{{rank}}/weights.pt",
        model=f"{RESULTS}/finalists/{{rank}}/model.yaml",
        hparams=f"{RESULTS}/finalists/{{rank}}/hparams.yaml",
    params:
        data=data_dir,
        out=lambda wildcards, output: os.path.dirname(output.metrics),
        epochs=config["finalize"]["epochs"],
        device=config["finalize"]["device"],
        export=config["finalize"]["export"],
        latency_runs=config["search"]["latency_runs"],
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
