# Profile: time the front's candidates with the machine to themselves. The job takes every
# core (threads: workflow.cores), so Snakemake runs nothing beside it; the search only had a
# deterministic estimate of latency.


rule profile:
    input:
        study=f"{SNAPSHOT}/study.db",
        trials=f"{SNAPSHOT}/trials",
    output:
        latency=f"{RESULTS}/profile/latency.csv",
        record=f"{RESULTS}/profile/profile.json",
    params:
        max_models=config["profile"]["max_models"],
        rounds=config["profile"]["rounds"],
        code=code("paretonas.profile"),
    log:
        f"{RESULTS}/logs/profile.log",
    benchmark:
        f"{RESULTS}/benchmarks/profile.tsv"
    threads: workflow.cores
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/profile.py"
