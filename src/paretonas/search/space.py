"""Search-space YAML -> Optuna define-by-run calls -> (ModelSpec, hyperparameters).

Two model styles:
- ``macro`` (the course's): a stem Conv, ``slots`` slots m1..mN each choosing a module (or
  Pass) with its own conditional args, a per-slot repeat and stride under a global budget of
  ``max_strides`` stride-2 slots, and a fixed head (GlobalAvgPool, Flatten, [Dropout],
  Linear to the class count).
- ``cell``: a stem, then three stages of ``n1, n2, n3`` normal cells separated by reduction
  cells (stride 2), widths ``width * growth**stage``.
Every parameter name is scoped by its branch (``m2/InvertedResidualv3/kernel_size``).

``hparams.img_size`` (searched or fixed) is drawn first: the model is sampled and built for
that input size (the stride budget, the spec's ``input_size``), and training resizes the
prepared images to it, which are only ever shrunk (``check_data``). ``hparams.augment`` is a
group: each policy key fixed or searched (``augment/cutout``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna

from paretonas.models import ModelSpec, get_block, list_blocks
from paretonas.search.distributions import (
    Branch,
    CategoricalParam,
    Fixed,
    Group,
    Param,
    SearchSpaceError,
    parse_param,
    parse_params,
)
from paretonas.search.space_checks import check_hparams, check_modules_build, drawable
from paretonas.yamlio import read_yaml

# fmt: off
_MODEL_KEYS = {
    "macro": {"style", "stem", "slots", "max_strides", "repeat", "stride", "modules",
              "head_dropout", "width_multiple", "depth_multiple"},
    "cell": {"style", "stem", "n", "width", "growth", "normal", "reduction", "modules",
             "head_dropout", "width_multiple", "depth_multiple"},
}
# fmt: on
_REQUIRED = {
    "macro": {"style", "stem", "slots", "modules"},
    "cell": {"style", "stem", "n", "width", "normal", "reduction", "modules"},
}
_STEM_KEYS = {"out_channels", "kernel_size", "stride", "activation"}
_HPARAM_GROUPS = ("augment",)  # hparams keys holding a mapping (HParams.augment)
IMG_SIZE = "img_size"  # drawn before the model, which is built for it


@dataclass(frozen=True)
class DataShape:
    """What the data tells the space: input (C, H, W) and the number of classes."""

    input_shape: tuple[int, int, int]
    num_classes: int


@dataclass(frozen=True)
class Sample:
    spec: ModelSpec
    hparams: dict[str, Any]


class SearchSpace:
    """A parsed, validated search space. ``sample(trial, data)`` draws one configuration."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.source = source
        self.raw = data
        if not isinstance(data, dict) or set(data) - {"model", "hparams"}:
            extra = sorted(set(data) - {"model", "hparams"}) if isinstance(data, dict) else data
            raise SearchSpaceError(
                f"{source}: top level: expected keys model, hparams; got {extra}"
            )
        for key in ("model", "hparams"):
            if key not in data:
                raise SearchSpaceError(f"{source}: missing top-level key {key!r}")
        self.model = _parse_model(data["model"], f"{source}: model")
        self.hparams = parse_params(
            data["hparams"], f"{source}: hparams", allow_branches=True, groups=_HPARAM_GROUPS
        )
        _img_size_on_top(self.hparams, f"{source}: hparams")
        check_hparams(self.hparams, f"{source}: hparams")
        complete = _with_channels_16 if self.model["style"] == "cell" else (lambda m, a: a)
        check_modules_build(self.model, f"{source}: model.modules", complete)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> SearchSpace:
        return cls(read_yaml(path, SearchSpaceError), str(path))

    def check_data(self, data: DataShape, where: str) -> None:
        """Refuse an ``img_size`` the prepared images (``data``, described by ``where``) cannot
        serve: a trial only ever shrinks them (upsampling adds no detail, only cost)."""
        param = self.hparams.get(IMG_SIZE)
        sizes = [] if param is None else [v for v in drawable(param) if v is not None]
        if sizes:
            _check_size(max(sizes), data, f"{self.source}: hparams.{IMG_SIZE}", where)

    def sample(self, trial: optuna.Trial, data: DataShape) -> Sample:
        """Draw a model spec and hyperparameters through ``trial``'s suggest calls; with
        ``hparams.img_size``, the model is drawn and built for that input size."""
        param = self.hparams.get(IMG_SIZE)
        size = None if param is None else param.sample(trial, IMG_SIZE)
        if size is not None:
            _check_size(size, data, f"{self.source}: hparams.{IMG_SIZE}", "the prepared data")
            data = replace(data, input_shape=(data.input_shape[0], size, size))
        rows = _sample_model(self.model, trial, data)
        spec = ModelSpec.from_dict(
            {
                "input_channel": data.input_shape[0],
                "depth_multiple": self.model["depth_multiple"].sample(trial, "depth_multiple"),
                "width_multiple": self.model["width_multiple"].sample(trial, "width_multiple"),
                "input_size": list(data.input_shape[1:]),
                "backbone": rows,
            },
            source=f"trial {trial.number}",
        )
        rest = {key: value for key, value in self.hparams.items() if key != IMG_SIZE}
        hparams = sample_hparams(rest, trial)
        return Sample(spec, hparams if size is None else {IMG_SIZE: size, **hparams})


def _check_size(size: int, data: DataShape, what: str, where: str) -> None:
    height, width = data.input_shape[1:]
    if size > min(height, width):
        raise SearchSpaceError(
            f"{what}: {size} is larger than the prepared images ({height}x{width}, {where}); "
            f"images are only ever shrunk: prepare them at data.img_size: {size} or more "
            f"(imagefolder), or search sizes up to {min(height, width)}"
        )


def _img_size_on_top(params: dict[str, Param | Branch | Group], where: str) -> None:
    """img_size cannot sit in a branch: the model is built for it before branches are drawn."""
    branches = {key: param for key, param in params.items() if isinstance(param, Branch)}
    for key, param in branches.items():
        for option, sub in param.options.items():
            if IMG_SIZE in sub:
                raise SearchSpaceError(
                    f"{where}.{key}.branches.{option}.{IMG_SIZE}: img_size belongs at the top "
                    f"of hparams (the model is built for it before any branch is drawn)"
                )


def sample_hparams(
    params: dict[str, Param | Branch | Group], trial: optuna.Trial
) -> dict[str, Any]:
    """Flatten branches: ``optimizer: sgd`` plus sgd's own ``lr``, ``momentum``...; a group
    (``augment``) samples to a mapping."""
    out: dict[str, Any] = {}
    for key, param in params.items():
        if isinstance(param, Branch):
            out[key], sub = param.sample(trial, key)
            out.update(sub)
        else:
            out[key] = param.sample(trial, key)
    return out


# -- parsing -------------------------------------------------------------------------------
def _parse_model(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SearchSpaceError(f"{where}: expected a mapping")
    style = data.get("style", "macro")
    if style not in _MODEL_KEYS:
        raise SearchSpaceError(f"{where}.style: expected macro or cell, got {style!r}")
    missing = _REQUIRED[style] - set(data) - {"style"}
    if missing:
        raise SearchSpaceError(f"{where}: missing key(s) {sorted(missing)} for style {style}")
    unknown = set(data) - _MODEL_KEYS[style]
    if unknown:
        raise SearchSpaceError(
            f"{where}: unknown key(s) {sorted(unknown)} for style {style}; "
            f"allowed: {sorted(_MODEL_KEYS[style])}"
        )
    model: dict[str, Any] = {"style": style}
    stem = data["stem"]
    if not isinstance(stem, dict) or "out_channels" not in stem or set(stem) - _STEM_KEYS:
        raise SearchSpaceError(
            f"{where}.stem: expected a mapping with out_channels (and kernel_size, stride, "
            f"activation)"
        )
    model["stem"] = parse_params(stem, f"{where}.stem")
    model["modules"] = _parse_modules(data["modules"], f"{where}.modules")
    for key, default in (("head_dropout", 0.0), ("width_multiple", 1.0), ("depth_multiple", 1.0)):
        model[key] = parse_param(data.get(key, default), f"{where}.{key}")
    if style == "macro":
        model["slots"] = _positive_int(data["slots"], f"{where}.slots")
        model["max_strides"] = _positive_int(data.get("max_strides", 2), f"{where}.max_strides", 0)
        model["repeat"] = parse_param(data.get("repeat", 1), f"{where}.repeat")
        model["stride"] = parse_param(
            data.get("stride", {"categorical": [1, 2]}), f"{where}.stride"
        )
    else:
        n = data["n"]
        if not isinstance(n, list) or len(n) != 3:
            raise SearchSpaceError(f"{where}.n: expected three repeats [n1, n2, n3]")
        model["n"] = [parse_param(v, f"{where}.n[{i}]") for i, v in enumerate(n)]
        model["width"] = parse_param(data["width"], f"{where}.width")
        model["growth"] = parse_param(data.get("growth", 2.0), f"{where}.growth")
        for key in ("normal", "reduction"):
            param = parse_param(data[key], f"{where}.{key}")
            choices = param.choices if isinstance(param, CategoricalParam) else (param.value,)
            _known_modules(choices, model["modules"], f"{where}.{key}")
            model[key] = param
    return model


def _parse_modules(data: Any, where: str) -> dict[str, dict[str, Param]]:
    if not isinstance(data, dict):
        raise SearchSpaceError(f"{where}: expected a mapping of module -> searched args")
    if not data:
        raise SearchSpaceError(f"{where}: no module to choose from; list at least one")
    modules = {}
    for name, args in data.items():
        if name not in list_blocks():
            raise SearchSpaceError(
                f"{where}.{name}: unknown module {name!r}; known: {', '.join(list_blocks())}"
            )
        known = {arg.name for arg in get_block(name).args}
        args = {} if args is None else args
        params = parse_params(args, f"{where}.{name}")
        for key in params:
            if key not in known or key == "stride":
                why = "comes from the slot" if key == "stride" else f"{name} takes {sorted(known)}"
                raise SearchSpaceError(f"{where}.{name}.{key}: not a searchable argument ({why})")
        modules[name] = params
    return modules


def _known_modules(choices: Any, modules: dict, where: str) -> None:
    for choice in choices:
        if choice not in modules:
            raise SearchSpaceError(
                f"{where}: module {choice!r} has no entry under modules; listed: {sorted(modules)}"
            )


def _positive_int(value: Any, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SearchSpaceError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


# -- sampling ------------------------------------------------------------------------------
def _stride_budget(model: dict, data: DataShape, stem_stride: int) -> int:
    """Stride-2 slots allowed: the configured cap, and never below a 2x2 feature map."""
    smallest = min(data.input_shape[1:]) // stem_stride
    by_size = max(0, int(math.log2(max(smallest, 1))) - 1)
    return min(model.get("max_strides", 2), by_size)


def _stem(model: dict, trial: optuna.Trial) -> tuple[list, int]:
    args = {k: p.sample(trial, f"stem/{k}") for k, p in model["stem"].items()}
    args.setdefault("kernel_size", 3)
    return [1, "Conv", args], args.get("stride", 1)


def _module_args(model: dict, module: str, scope: str, trial: optuna.Trial, **fixed) -> dict:
    args = {
        k: p.sample(trial, f"{scope}/{module}/{k}") for k, p in model["modules"][module].items()
    }
    names = {arg.name for arg in get_block(module).args}
    args.update({k: v for k, v in fixed.items() if k in names})
    return args


def _head(model: dict, trial: optuna.Trial, data: DataShape) -> list[list]:
    rows: list[list] = [[1, "GlobalAvgPool", []], [1, "Flatten", []]]
    dropout = model["head_dropout"].sample(trial, "head_dropout")
    if dropout:
        rows.append([1, "Dropout", [dropout]])
    rows.append([1, "Linear", [data.num_classes]])
    return rows


def _sample_model(model: dict, trial: optuna.Trial, data: DataShape) -> list[list]:
    stem, stem_stride = _stem(model, trial)
    budget = _stride_budget(model, data, stem_stride)
    rows = [stem]
    if model["style"] == "macro":
        rows += _sample_macro(model, trial, budget)
    else:
        rows += _sample_cells(model, trial, budget)
    return rows + _head(model, trial, data)


def _sample_macro(model: dict, trial: optuna.Trial, budget: int) -> list[list]:
    rows, strides = [], 0
    for slot in range(1, model["slots"] + 1):
        scope = f"m{slot}"
        module = trial.suggest_categorical(scope, list(model["modules"]))
        if module == "Pass":
            continue
        repeat = model["repeat"].sample(trial, f"{scope}/repeat")
        stride = 1
        has_stride = any(arg.name == "stride" for arg in get_block(module).args)
        if has_stride and strides < budget:  # budget spent: stride 1, not even suggested
            stride = model["stride"].sample(trial, f"{scope}/stride")
        strides += stride == 2
        rows.append([repeat, module, _module_args(model, module, scope, trial, stride=stride)])
    return rows


def _sample_cells(model: dict, trial: optuna.Trial, budget: int) -> list[list]:
    normal = model["normal"].sample(trial, "cell/normal")
    reduction = model["reduction"].sample(trial, "cell/reduction")
    width = model["width"].sample(trial, "cell/width")
    growth = model["growth"].sample(trial, "cell/growth")
    normal_args = _module_args(model, normal, "cell/normal", trial)
    reduction_args = _module_args(model, reduction, "cell/reduction", trial)
    rows = []
    for stage, n_param in enumerate(model["n"]):
        channels = max(1, round(width * growth**stage))
        if stage > 0:
            stride = 2 if stage <= budget else 1
            args = _with_channels(reduction, reduction_args, channels, stride=stride)
            rows.append([1, reduction, args])
        repeat = n_param.sample(trial, f"cell/n{stage + 1}")
        rows.append([repeat, normal, _with_channels(normal, normal_args, channels, stride=1)])
    return rows


def _with_channels(module: str, args: dict, channels: int, **fixed) -> dict:
    """Cells take their width from the stage: set the module's channel argument(s)."""
    out = dict(args)
    names = {arg.name for arg in get_block(module).args}
    if "out_channels" in names:
        out["out_channels"] = channels
    elif module == "Fire":  # squeeze 1/4, expands split the stage width
        out.update(
            squeeze_channels=max(8, channels // 4),
            expand1x1_channels=channels // 2,
            expand3x3_channels=channels - channels // 2,
        )
    out.update({k: v for k, v in fixed.items() if k in names})
    return out


def _with_channels_16(module: str, args: dict) -> dict:
    """A cell module as a stage of width 16 sets it (for the build check)."""
    return _with_channels(module, args, 16, stride=args.get("stride", 1))


def load_space(path: str | os.PathLike) -> SearchSpace:
    """Read and validate a search-space YAML."""
    return SearchSpace.from_yaml(Path(path))


__all__ = ["DataShape", "Fixed", "Sample", "SearchSpace", "SearchSpaceError", "load_space"]
