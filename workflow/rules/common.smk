# Config validation (before anything runs) and the input functions shared by the rules.
import json
import os

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = config["results_dir"]
DATA_DIR = f"{RESULTS}/data"
DATA_SPLITS = ["full/train", "full/val", "full/test", "search/train", "search/val"]


def data_outputs():
    """Every file prepare_data writes."""
    return [f"{DATA_DIR}/manifest.json"] + [f"{DATA_DIR}/{s}.pt" for s in DATA_SPLITS]


def search_outputs():
    """One report per search worker."""
    return [f"{RESULTS}/search/workers/{i}.json" for i in range(config["search"]["workers"])]


def finalist_outputs(name="metrics.json"):
    """One file per finalist slot (select.k is fixed, so the DAG is known up front)."""
    return [f"{RESULTS}/finalists/{rank}/{name}" for rank in range(1, config["select"]["k"] + 1)]


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


def config_json(*sections):
    """The validated config sections a step depends on, as one JSON string. Passed to the
    CLI verb and tracked as a parameter, so changing a section reruns exactly its steps."""
    return json.dumps({key: config[key] for key in sections}, sort_keys=True)
