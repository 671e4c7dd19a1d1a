"""Study identity: a short hash of what makes trials comparable.

A changed search space, data, objective list, constraint or seed starts a new study; a
larger trial budget or more workers continue the same one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from paretonas.search.space import SearchSpace

OBJECTIVE_DIRECTIONS = {
    "f1": "maximize",
    "accuracy": "maximize",
    "loss": "minimize",
    "params": "minimize",
    "macs": "minimize",
    "latency_ms": "minimize",
    "model_bytes": "minimize",
}


def objectives(config: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(name, direction)]`` from ``search.objectives``; the direction defaults by name."""
    from paretonas.errors import ConfigError

    out = []
    for i, item in enumerate(config["search"]["objectives"]):
        name = item["name"]
        natural = OBJECTIVE_DIRECTIONS[name]
        direction = item.get("direction", natural)
        if direction != natural:
            raise ConfigError(
                f"search.objectives[{i}]: {name} can only be {natural}d, got {direction!r}"
            )
        out.append((name, direction))
    if len({name for name, _ in out}) != len(out):
        raise ConfigError(f"search.objectives: duplicate names in {[n for n, _ in out]}")
    return out


def identity_payload(space: SearchSpace, manifest: dict[str, Any], config: dict) -> dict:
    """What the study name hashes (recorded verbatim in study.json)."""
    return {
        "space": space.raw,
        "data": {
            "splits_md5": manifest["outputs"],
            "class_names": manifest["class_names"],
            "input_shape": manifest["input_shape"],
        },
        "objectives": objectives(config),
        "constraints": config["search"]["constraints"],
        "seed": config["seed"],
    }


def study_name(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return "paretonas-" + hashlib.sha256(text.encode()).hexdigest()[:12]
