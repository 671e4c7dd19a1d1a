"""Checks of a whole search space before any trial: every value a trial could draw for a
hyperparameter is one training accepts, and every module offered to a slot builds there.

Without them a malformed space passes parsing and then fails every trial at run time (an
unknown ``hparams`` key, ``Linear`` offered to a slot, a schedule name with a typo).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from paretonas.errors import ParetonasError
from paretonas.search.distributions import (
    Branch,
    CategoricalParam,
    Fixed,
    FloatParam,
    Group,
    IntParam,
    Param,
    SearchSpaceError,
)

# The probe a slot module is built in: small, RGB, a feature map a stride-2 block can halve.
PROBE_SHAPE = (3, 16, 16)
PROBE_CLASSES = 10


def drawable(param: Param) -> list[Any]:
    """The values worth checking: a fixed value, a range's ends, every choice."""
    if isinstance(param, Fixed):
        return [param.value]
    if isinstance(param, (IntParam, FloatParam)):
        return [param.low, param.high]
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    raise TypeError(param)  # pragma: no cover


def first(param: Param) -> Any:
    return drawable(param)[0]


def check_hparams(params: dict[str, Param | Branch | Group], where: str) -> None:
    """Every key is a training hyperparameter and every drawable value is accepted."""
    from paretonas.training import HParams

    known = [field.name for field in dataclasses.fields(HParams)]

    def check(key: str, value: Any, at: str, within: dict[str, Any] | None = None) -> None:
        if key not in known:
            raise SearchSpaceError(f"{at}: unknown hyperparameter {key!r}; known: {known}")
        try:
            HParams.from_dict({**(within or {}), key: value}, at)
        except ParetonasError as exc:
            raise SearchSpaceError(str(exc)) from None

    for key, param in params.items():
        if isinstance(param, Branch):
            for option, sub in param.options.items():
                check(key, option, f"{where}.{key}.branches.{option}")
                for sub_key, sub_param in sub.items():
                    for value in drawable(sub_param):  # as drawn: within its branch
                        at = f"{where}.{key}.branches.{option}.{sub_key}"
                        check(sub_key, value, at, {key: option})
        elif isinstance(param, Group):  # each member's values, the others at their defaults
            check(key, {}, f"{where}.{key}")
            for sub_key, sub_param in param.params.items():
                for value in drawable(sub_param):
                    check(key, {sub_key: value}, f"{where}.{key}.{sub_key}")
        else:
            for value in drawable(param):
                check(key, value, f"{where}.{key}")


def check_modules_build(
    model: dict[str, Any],
    where: str,
    complete: Callable[[str, dict[str, Any]], dict[str, Any]] = lambda module, args: args,
) -> None:
    """Each module offered to a slot builds between a stem and the head, with each of its
    drawable argument values (the others at their first value). ``complete`` adds what the
    space itself sets (a cell's stage width)."""
    from paretonas.models import ModelSpec, build_model, get_block

    stem = {k: first(p) for k, p in model["stem"].items()}
    stem.setdefault("kernel_size", 3)
    head = [[1, "GlobalAvgPool", []], [1, "Flatten", []], [1, "Linear", [PROBE_CLASSES]]]
    for module, params in model["modules"].items():
        if module == "Pass":
            continue
        variants = [{k: first(p) for k, p in params.items()}]
        for key, param in params.items():
            for value in drawable(param)[1:]:
                variants.append({**variants[0], key: value})
        if any(arg.name == "stride" for arg in get_block(module).args):  # the slot sets it
            variants = [{**v, "stride": s} for v in variants for s in (1, 2)]
        for args in variants:
            args = complete(module, args)
            spec = {
                "input_channel": PROBE_SHAPE[0],
                "depth_multiple": 1.0,
                "width_multiple": 1.0,
                "input_size": list(PROBE_SHAPE[1:]),
                "backbone": [[1, "Conv", stem], [1, module, args], *head],
            }
            # the spec's errors start with their source: the slot, named once
            source = (
                f"{where}.{module}: cannot stand in a slot (between a Conv stem and the head) "
                f"with {args}"
            )
            try:
                build_model(ModelSpec.from_dict(spec, source=source))
            except ParetonasError as exc:
                raise SearchSpaceError(str(exc)) from None
