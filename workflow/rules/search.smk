# Search stage: name the study, then N parallel workers on it (one job, one thread each).


rule search_study:
    input:
        manifest=f"{DATA_DIR}/manifest.json",
        space=config["search"]["space"],
    output:
        f"{RESULTS}/search/study.json",
    params:
        config=config_json("seed", "results_dir", "search", "pruning"),
        data=lambda wildcards, input: os.path.dirname(input.manifest),
    log:
        f"{RESULTS}/logs/search_study.log",
    conda:
        "../envs/paretonas.yaml"
    shell:
        "paretonas search-study --config-json {params.config:q} --data {params.data} "
        "--out {output} > {log} 2>&1"


rule search_worker:
    input:
        study=f"{RESULTS}/search/study.json",
        splits=data_outputs(),
        space=config["search"]["space"],
    output:
        f"{RESULTS}/search/workers/{{worker}}.json",
    params:
        config=config_json("seed", "results_dir", "search", "pruning"),
        data=lambda wildcards, input: os.path.dirname(input.splits[0]),
    log:
        f"{RESULTS}/logs/search_worker/{{worker}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/search_worker/{{worker}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        "../envs/paretonas.yaml"
    shell:
        "paretonas search-worker --config-json {params.config:q} --data {params.data} "
        "--worker-id {wildcards.worker} --report {output} > {log} 2>&1"
