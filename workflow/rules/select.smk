# Select: the Pareto front of the study snapshot and its K finalists (K fixed by config).


rule select:
    input:
        study=f"{SNAPSHOT}/study.db",
        trials=f"{SNAPSHOT}/trials",
    output:
        pareto=f"{RESULTS}/select/pareto.csv",
        finalists=f"{RESULTS}/select/finalists.yaml",
    params:
        k=config["select"]["k"],
        min_relative_score=config["select"]["min_relative_score"],
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
