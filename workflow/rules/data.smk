# Data stage: stratified splits and the search subsample, as uint8 tensor files.


rule prepare_data:
    input:
        data_source_inputs,
    output:
        manifest=f"{DATA_DIR}/manifest.json",
        splits=[f"{DATA_DIR}/{split}.pt" for split in DATA_SPLITS],
    params:
        seed=config["seed"],
        data=config["data"],
        out=lambda wildcards, output: os.path.dirname(output.manifest),
        code=code("paretonas.data"),
    log:
        f"{RESULTS}/logs/prepare_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/prepare_data.py"
