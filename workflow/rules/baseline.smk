# Baseline: a plain 3-conv CNN on the finalists' splits, trained as a finalist is (the same
# budget, early stopping and best-epoch rule), so the report shows what the search beat.
# It needs only the data; a low priority lets the search workers take the cores first.


rule baseline:
    input:
        space=config["search"]["space"],
        manifest=f"{DATA_DIR}/manifest.json",
        splits=data_outputs(),
    output:
        metrics=f"{RESULTS}/baseline/metrics.json",
    params:
        data=data_dir,
        out=lambda wildcards, output: os.path.dirname(output.metrics),
        seed=config["seed"],
        epochs=config["finalize"]["epochs"],
        steps=config["finalize"]["steps"],
        device=config["finalize"]["device"],
        code=code("paretonas.baseline"),
    log:
        f"{RESULTS}/logs/baseline.log",
    benchmark:
        f"{RESULTS}/benchmarks/baseline.tsv"
    threads: 1
    priority: -10
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/baseline.py"
