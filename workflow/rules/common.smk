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


def data_source_inputs(wildcards):
    """The raw data a source reads (so Snakemake reruns when it changes); none for digits."""
    if config["data"]["source"] == "digits":
        return []
    return [config["data"]["path"]]


def config_json(*sections):
    """The validated config sections a step depends on, as one JSON string. Passed to the
    CLI verb and tracked as a parameter, so changing a section reruns exactly its steps."""
    return json.dumps({key: config[key] for key in sections}, sort_keys=True)
