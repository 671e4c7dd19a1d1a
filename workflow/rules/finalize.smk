# Finalize: retrain each finalist from its archived YAMLs on the full data; test; export.


rule finalize:
    input:
        finalists=f"{RESULTS}/select/finalists.yaml",
        splits=data_outputs(),
    output:
        metrics=f"{RESULTS}/finalists/{{rank}}/metrics.json",
        weights=f"{RESULTS}/finalists/{{rank}}/weights.pt",
        model=f"{RESULTS}/finalists/{{rank}}/model.yaml",
        hparams=f"{RESULTS}/finalists/{{rank}}/hparams.yaml",
    params:
        config=config_json("seed", "results_dir", "search", "finalize"),
        data=lambda wildcards, input: os.path.dirname(input.splits[0]),
        out=lambda wildcards, output: os.path.dirname(output.metrics),
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
    shell:
        "paretonas finalize --config-json {params.config:q} --finalists {input.finalists} "
        "--rank {wildcards.rank} --data {params.data} --out {params.out} > {log} 2>&1"
