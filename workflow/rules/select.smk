# Select: the Pareto front of the study snapshot, with profiled latency, and its K finalists
# (K fixed by config; a slot no trial qualifies for is written empty, saying why).


rule select:
    input:
        study=f"{SNAPSHOT}/study.db",
        trials=f"{SNAPSHOT}/trials",
        latency=f"{RESULTS}/profile/latency.csv",
    output:
        pareto=f"{RESULTS}/select/pareto.csv",
        finalists=f"{RESULTS}/select/finalists.yaml",
    params:
        k=config["select"]["k"],
        min_relative_score=config["select"]["min_relative_score"],
        min_f1=config["select"]["min_f1"],
        f1_noise=config["select"]["f1_noise"],
        code=code("paretonas.select"),
    log:
        f"{RESULTS}/logs/select.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/select.py"
