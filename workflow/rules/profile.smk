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
        runtime=config["profile"]["runtime"],
        # the host's recorded quiet speed per runtime: kept across runs, so not an output
        baseline=f"{RESULTS}/profile/machine_baseline.json",
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


# With finalize.quantize: the finalists' shipped files (float in profile.runtime, the int8
# twin in ONNX Runtime) timed the same way, again with the machine to themselves.
rule profile_finalists:
    input:
        metrics=finalist_outputs(),
    output:
        latency=f"{RESULTS}/profile/finalists.csv",
    params:
        rounds=config["profile"]["rounds"],
        runtime=config["profile"]["runtime"],
        baseline=f"{RESULTS}/profile/machine_baseline.json",
        code=code("paretonas.finalist_latency"),
    log:
        f"{RESULTS}/logs/profile_finalists.log",
    benchmark:
        f"{RESULTS}/benchmarks/profile_finalists.tsv"
    threads: workflow.cores
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/profile_finalists.py"
