# Select: the Pareto front of the study and its K finalists (K fixed by config).


rule select:
    input:
        study=f"{RESULTS}/search/study.json",
        workers=search_outputs(),
    output:
        pareto=f"{RESULTS}/select/pareto.csv",
        finalists=f"{RESULTS}/select/finalists.yaml",
    params:
        config=config_json("seed", "results_dir", "search", "select"),
        out=lambda wildcards, output: os.path.dirname(output.finalists),
    log:
        f"{RESULTS}/logs/select.log",
    conda:
        "../envs/paretonas.yaml"
    shell:
        "paretonas select --config-json {params.config:q} --study-json {input.study} "
        "--out {params.out} > {log} 2>&1"
