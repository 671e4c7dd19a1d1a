# Search stage: name the study, run N parallel workers on it (one job each, with
# search.threads_per_worker torch threads), then freeze it: later stages read only the
# snapshot (see paretonas/search/snapshot.py for why).


rule search_study:
    input:
        manifest=f"{DATA_DIR}/manifest.json",
        space=config["search"]["space"],
    output:
        study=f"{RESULTS}/search/study.json",
    params:
        data=data_dir,
        objectives=config["search"]["objectives"],
        constraints=config["search"]["constraints"],
        seed=config["seed"],
        storage=config["search"]["storage"],
        storage_env=config["search"]["storage_env"],
        code=code("paretonas.search.worker"),
    log:
        f"{RESULTS}/logs/search_study.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/search_study.py"


rule search_worker:
    input:
        study=f"{RESULTS}/search/study.json",
        manifest=f"{DATA_DIR}/manifest.json",
        splits=data_outputs(),
    output:
        report=f"{RESULTS}/search/workers/{{worker}}.json",
    params:
        data=data_dir,
        options=worker_options(),
        code=code("paretonas.search.worker"),
    log:
        f"{RESULTS}/logs/search_worker/{{worker}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/search_worker/{{worker}}.tsv"
    wildcard_constraints:
        worker=r"\d+",
    threads: config["search"]["threads_per_worker"]
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/search_worker.py"


rule search_snapshot:
    input:
        study=f"{RESULTS}/search/study.json",
        workers=search_outputs(),
    output:
        study=f"{SNAPSHOT}/study.db",
        trials=directory(f"{SNAPSHOT}/trials"),
        table=f"{RESULTS}/search/trials.csv",
    params:
        code=code("paretonas.search.snapshot"),
    log:
        f"{RESULTS}/logs/search_snapshot.log",
    benchmark:
        f"{RESULTS}/benchmarks/search_snapshot.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/search_snapshot.py"
