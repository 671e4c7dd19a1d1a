# Report: tables and figures of the search and its finalists (also in `snakemake --report`).


rule report:
    input:
        study=f"{SNAPSHOT}/study.db",
        finalists=f"{RESULTS}/select/finalists.yaml",
        latency=f"{RESULTS}/profile/latency.csv",
        profile=f"{RESULTS}/profile/profile.json",
        metrics=finalist_outputs(),
        deployment=deployment_inputs(),
        baseline=f"{RESULTS}/baseline/metrics.json",
    output:
        summary=report(
            f"{RESULTS}/report/summary.csv",
            caption="../report/summary.rst",
            category="Finalists",
        ),
        summary_md=f"{RESULTS}/report/summary.md",
        timing=f"{RESULTS}/report/timing.json",
        pareto=report(
            f"{RESULTS}/report/pareto_front.png",
            caption="../report/pareto_front.rst",
            category="Search",
        ),
        figures=report(
            report_figures(),
            caption="../report/history.rst",
            category="Search",
        ),
        confusion=report(
            [f"{RESULTS}/report/confusion_{r}.png" for r in range(1, config["select"]["k"] + 1)],
            caption="../report/confusion.rst",
            category="Finalists",
        ),
        html=report_pages(),
    params:
        out=lambda wildcards, output: os.path.dirname(output.summary),
        benchmarks=f"{RESULTS}/benchmarks",
        estimate=config.get("estimate"),
        code=code("paretonas.reporting"),
    log:
        f"{RESULTS}/logs/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/report.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/paretonas.yaml"
    script:
        "../scripts/report.py"
