"""Search-space values: fixed values, distributions and branches, parsed from YAML.

A value is fixed (a scalar or a list), a distribution (``{int: [lo, hi], step, log}``,
``{float: [lo, hi], step, log}``, ``{categorical: [...]}``), a branch
(``{branches: {name: {sub-params}}}``) that picks one name and samples only its parameters, or,
under a key the caller names as a group (``hparams.augment``), a mapping of such values that
samples to a mapping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import optuna

from paretonas.errors import ConfigError


class SearchSpaceError(ConfigError):
    """A search space that cannot be compiled; the message names the file and the key."""


@dataclass(frozen=True)
class Fixed:
    value: Any

    def sample(self, trial: optuna.Trial, name: str) -> Any:
        return self.value


@dataclass(frozen=True)
class IntParam:
    low: int
    high: int
    step: int = 1
    log: bool = False

    def sample(self, trial: optuna.Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class FloatParam:
    low: float
    high: float
    step: float | None = None
    log: bool = False

    def sample(self, trial: optuna.Trial, name: str) -> float:
        value = trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)
        # a stepped float like 1.5000000000000002 would leak into YAML; round to the step
        return round(value, 10) if self.step else value


@dataclass(frozen=True)
class CategoricalParam:
    choices: tuple[Any, ...]

    def sample(self, trial: optuna.Trial, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.choices))


Param = Fixed | IntParam | FloatParam | CategoricalParam


@dataclass(frozen=True)
class Branch:
    """Pick one named option, then sample that option's own parameters under its name."""

    options: dict[str, dict[str, Param]]

    def sample(self, trial: optuna.Trial, name: str) -> tuple[str, dict[str, Any]]:
        choice = trial.suggest_categorical(name, list(self.options))
        params = {
            key: param.sample(trial, f"{name}/{choice}/{key}")
            for key, param in self.options[choice].items()
        }
        return choice, params


@dataclass(frozen=True)
class Group:
    """A mapping sampled to a mapping: each member fixed or drawn under ``name/member``."""

    params: dict[str, Param]

    def sample(self, trial: optuna.Trial, name: str) -> dict[str, Any]:
        return {key: param.sample(trial, f"{name}/{key}") for key, param in self.params.items()}


_SCALARS = (bool, int, float, str, type(None))
_DIST_KEYS = {"int", "float", "categorical"}


def parse_param(value: Any, where: str) -> Param:
    """Parse one search-space value; ``where`` is ``file: key.path`` for error messages."""
    if isinstance(value, (*_SCALARS, list)):
        return Fixed(value)
    if not isinstance(value, dict):
        raise SearchSpaceError(f"{where}: expected a value or a distribution, got {value!r}")
    kinds = _DIST_KEYS & set(value)
    if len(kinds) != 1:
        raise SearchSpaceError(
            f"{where}: a distribution needs exactly one of int, float, categorical; got keys "
            f"{sorted(value)}"
        )
    kind = kinds.pop()
    extra = set(value) - {kind, "step", "log"} if kind != "categorical" else set(value) - {kind}
    if extra:
        raise SearchSpaceError(f"{where}: unknown key(s) {sorted(extra)} in a {kind} distribution")
    if kind == "categorical":
        return _categorical(value["categorical"], where)
    return _numeric(kind, value, where)


def _categorical(choices: Any, where: str) -> CategoricalParam:
    if not isinstance(choices, list) or not choices:
        raise SearchSpaceError(f"{where}: categorical: expected a non-empty list of choices")
    for choice in choices:
        if not isinstance(choice, _SCALARS):
            raise SearchSpaceError(
                f"{where}: categorical: choices must be scalars (str, int, float, bool, null), "
                f"got {choice!r}"
            )
    if len(set(map(repr, choices))) != len(choices):
        raise SearchSpaceError(f"{where}: categorical: duplicate choices in {choices}")
    return CategoricalParam(tuple(choices))


def _numeric(kind: str, spec: dict, where: str) -> IntParam | FloatParam:
    bounds, step, log = spec[kind], spec.get("step"), spec.get("log", False)
    number = int if kind == "int" else (int, float)
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(b, number) and not isinstance(b, bool) for b in bounds)
    ):
        raise SearchSpaceError(f"{where}: {kind}: expected [low, high] numbers, got {bounds!r}")
    low, high = bounds
    if not all(math.isfinite(b) for b in bounds) or low > high:
        raise SearchSpaceError(f"{where}: {kind}: bad range: low {low} > high {high}")
    if not isinstance(log, bool):
        raise SearchSpaceError(f"{where}: log: expected true or false, got {log!r}")
    if log and low <= 0:
        raise SearchSpaceError(f"{where}: {kind}: log scale needs low > 0, got {low}")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, number) or step <= 0:
            raise SearchSpaceError(f"{where}: step: expected a positive {kind}, got {step!r}")
        if log and not (kind == "int" and step == 1):
            raise SearchSpaceError(f"{where}: step and log cannot be combined")
    if kind == "int":
        return IntParam(low, high, step or 1, log)
    return FloatParam(float(low), float(high), None if step is None else float(step), log)


def parse_params(
    data: Any, where: str, allow_branches: bool = False, groups: tuple[str, ...] = ()
) -> dict[str, Param | Branch | Group]:
    """Parse a mapping of name -> value; branches only where ``allow_branches``; the keys in
    ``groups`` hold a mapping of values each (a ``Group``)."""
    if not isinstance(data, dict):
        raise SearchSpaceError(f"{where}: expected a mapping, got {data!r}")
    params: dict[str, Param | Branch | Group] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise SearchSpaceError(f"{where}: parameter names must be strings, got {key!r}")
        if key in groups:
            if not isinstance(value, dict):
                raise SearchSpaceError(
                    f"{where}.{key}: expected a mapping of its keys (each fixed or a "
                    f"distribution), got {value!r}"
                )
            params[key] = Group(parse_params(value, f"{where}.{key}"))  # type: ignore[arg-type]
        elif isinstance(value, dict) and "branches" in value:
            if not allow_branches:
                raise SearchSpaceError(f"{where}.{key}: branches are not allowed here")
            params[key] = _branch(value, f"{where}.{key}")
        else:
            params[key] = parse_param(value, f"{where}.{key}")
    return params


def _branch(value: dict, where: str) -> Branch:
    if set(value) != {"branches"} or not isinstance(value["branches"], dict):
        raise SearchSpaceError(f"{where}: expected {{branches: {{name: {{params}}}}}}")
    if not value["branches"]:
        raise SearchSpaceError(f"{where}: branches: needs at least one option")
    options = {}
    for name, sub in value["branches"].items():
        sub = {} if sub is None else sub
        parsed = parse_params(sub, f"{where}.branches.{name}")
        options[str(name)] = parsed  # type: ignore[assignment]
    return Branch(options)
