# Data stage: stratified splits and the search subsample, as uint8 tensor files.


rule prepare_data:
    input:
        data_source_inputs,
    output:
        manifest=f"{DATA_DIR}/manifest.json",
        splits=[f"{DATA_DIR}/{split}.pt" for split in DATA_SPLITS],
    params:
        config=config_json("seed", "results_dir", "data"),
        out=lambda wildcards, output: os.path.dirname(output.manifest),
    log:
        f"{RESULTS}/logs/prepare_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data.tsv"
    threads: 1
    conda:
        "../envs/paretonas.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "paretonas prepare-data --config-json {params.config:q} --out {params.out} > {log} 2>&1"
