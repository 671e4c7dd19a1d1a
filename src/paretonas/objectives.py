"""The objective registry: every objective a study can score, in one table.

Each objective says its direction, its unit, whether it is a score in [0, 1] and whether it is
deterministic (a pure function of the network: params, MACs, bytes) or measured (latency, and
every score that comes out of training). Search decisions that must replay (pruning, the
pre-filter) use deterministic costs; a measured figure always says how it was measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from paretonas.errors import ConfigError


@dataclass(frozen=True)
class Objective:
    """One objective: ``name`` is what config, study and tables call it."""

    name: str
    direction: str  # "maximize" | "minimize"
    unit: str
    label: str
    score: bool  # a validation score from training (in [0, 1] when maximized)
    deterministic: bool  # a function of the network alone (same value on every machine)
    untrained: float | None = None  # the value a never-trained (infeasible) trial reports

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    @property
    def cost(self) -> bool:
        """Known before training (the pre-filter and pruning compare these)."""
        return not self.score

    def describe(self) -> str:
        """``params (minimize; parameters, deterministic)``: what a table says of a column."""
        how = "deterministic" if self.deterministic else "measured"
        return f"{self.name} ({self.direction}; {self.label}, {how})"


# name, direction, unit, label, score, deterministic, untrained
REGISTRY: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective("f1", "maximize", "", "validation macro-F1", True, False, 0.0),
        Objective("accuracy", "maximize", "", "validation accuracy", True, False, 0.0),
        Objective("loss", "minimize", "", "validation loss", True, False, 1e9),
        Objective("params", "minimize", "parameters", "parameters", False, True),
        Objective("macs", "minimize", "MACs", "multiply-accumulates per image", False, True),
        Objective("latency_ms", "minimize", "ms", "CPU latency, batch 1", False, False),
        Objective("model_bytes", "minimize", "bytes", "parameter and buffer bytes", False, True),
    )
}
SCORES = tuple(name for name, o in REGISTRY.items() if o.score)


def get_objective(name: str) -> Objective:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown objective {name!r}; known: {', '.join(REGISTRY)}") from None


def parse_objectives(
    items: Iterable[Mapping[str, Any]], where: str = "search.objectives"
) -> list[Objective]:
    """``search.objectives`` (``[{name, direction}]``) -> objectives; a direction may be left
    out, and one against the objective's nature (``params: maximize``) is refused."""
    out: list[Objective] = []
    for i, item in enumerate(items):
        objective = get_objective(item["name"])
        direction = item.get("direction", objective.direction)
        if direction != objective.direction:
            raise ConfigError(
                f"{where}[{i}]: {objective.name} can only be {objective.direction}d, "
                f"got {direction!r}"
            )
        out.append(objective)
    names = [o.name for o in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: duplicate names in {names}")
    if not out:
        raise ConfigError(f"{where}: at least one objective is needed")
    return out


def from_names(names: Iterable[str]) -> list[Objective]:
    """Objectives of a study from its recorded metric names."""
    return [get_objective(name) for name in names]


def pairs(objectives: Iterable[Objective]) -> list[tuple[str, str]]:
    """``[(name, direction)]``: what the study identity hashes and Optuna's directions."""
    return [(o.name, o.direction) for o in objectives]
