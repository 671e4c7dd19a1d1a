# Config validation (before anything runs), the package the rules run, and the input functions.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# The rules run the package of this checkout (src/), whatever else is installed: the code the
# digests below hash is the code the jobs import (jobs, SLURM ones too, inherit PYTHONPATH).
SRC = str(Path(workflow.basedir).parent / "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])))

from paretonas.code_digest import stage_digest  # noqa: E402  (stdlib only: starts fast)
from paretonas.config import read_config_file, validate_config  # noqa: E402
from paretonas.config_checks import check_results_dir_writable  # noqa: E402
from paretonas.errors import ConfigError  # noqa: E402
from paretonas.stop_jobs import forward_sigterm_to_jobs  # noqa: E402

# Each config file is read again by the package's strict reader: where the package's startup
# hook (src/paretonas_guard.py) is installed, Snakemake has read them with it already;
# where it is not, a YTE template, a duplicate key or a Python tag still stops the run here.
# Then the merged config is validated by the package (the schema Snakemake's validate() would
# use, one line per error instead of the whole schema), defaults filled in, before anything runs.
CONFIG_FILES = " + ".join(["config/config.yaml", *map(str, workflow.overwrite_configfiles or ())])
try:
    for configfile in workflow.configfiles:
        read_config_file(configfile)
    config.update(validate_config(config, CONFIG_FILES))
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

RESULTS = config["results_dir"]
try:  # the workflow writes there: a file, or a folder it cannot make, stops it now
    check_results_dir_writable(RESULTS, CONFIG_FILES)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
DATA_DIR = f"{RESULTS}/data"
DATA_SPLITS = ["full/train", "full/val", "full/test", "search/train", "search/val"]
SNAPSHOT = f"{RESULTS}/search/snapshot"


def code(module):
    """Digest of the package code a step runs, ``module`` and everything it imports (and the
    scripts' shared glue). Every step's params carry it, so editing that code reruns the step
    and what follows it; the README ("Re-runs") says how to accept an edit without that."""
    return stage_digest(module, "paretonas.workflow_step")


def data_outputs():
    """Every file prepare_data writes."""
    return [f"{DATA_DIR}/manifest.json"] + [f"{DATA_DIR}/{s}.pt" for s in DATA_SPLITS]


def data_dir(wildcards, input):
    """The prepared data directory (the folder of the manifest a rule has as input)."""
    return os.path.dirname(input.manifest)


def search_outputs():
    """One report per search worker."""
    return [f"{RESULTS}/search/workers/{i}.json" for i in range(config["search"]["workers"])]


def worker_options():
    """How each worker runs (paretonas.search.worker.WorkerOptions)."""
    search = config["search"]
    keys = ["n_trials", "workers", "threads_per_worker", "sampler", "n_startup_trials",
            "max_failures", "heartbeat_interval", "grace_period", "walltime_s", "device"]
    return {**{key: search[key] for key in keys}, "pruning": config["pruning"]}


def finalist_outputs(name="metrics.json"):
    """One file per finalist slot (select.k is fixed, so the DAG is known up front)."""
    return [f"{RESULTS}/finalists/{rank}/{name}" for rank in range(1, config["select"]["k"] + 1)]


def deployment_inputs():
    """The finalists' float and int8 latency (finalize.quantize), or nothing."""
    return [f"{RESULTS}/profile/finalists.csv"] if config["finalize"]["quantize"] else []


OBJECTIVES = [objective["name"] for objective in config["search"]["objectives"]]


def figure_names():
    """Figures besides the Pareto front (hypervolume only with several objectives)."""
    names = [f"history_{name}" for name in OBJECTIVES]
    names += ["param_importances", "parallel_coordinate"]
    return names + (["hypervolume"] if len(OBJECTIVES) > 1 else [])


def report_figures():
    """Static (PNG) figures besides the Pareto front."""
    return [f"{RESULTS}/report/{name}.png" for name in figure_names()]


def report_pages():
    """The interactive (plotly) pages, one per figure."""
    names = figure_names() + (["pareto_front"] if len(OBJECTIVES) > 1 else [])
    return [f"{RESULTS}/report/{name}.html" for name in names]


def data_source_inputs(wildcards):
    """The raw data a source reads (so Snakemake reruns when it changes); none for digits."""
    if config["data"]["source"] == "digits":
        return []
    return [config["data"]["path"]]


# Snakemake takes SIGTERM as "let the running jobs finish"; a search worker's job would run
# until the study is done. Pass SIGTERM on to the jobs (they stop, a worker re-queues its trial).
onstart:
    forward_sigterm_to_jobs()
