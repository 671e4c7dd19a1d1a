"""Training hyperparameters and augmentation settings: frozen, validated plain data.

Both classes validate on construction (errors name "HParams"/"Augment") and in ``from_dict``
(errors name ``source``: the file or config key), so a bad value fails before any training starts
and the message names where it came from and which key is wrong. ``HParams.augment`` is an
``Augment``: the augmentation policy is a hyperparameter like any other (searchable, archived
with the trial), and the config's ``data.augment`` is its default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from paretonas.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("none", "cosine", "step", "onecycle")


def _number(minimum: float, maximum: float | None = None, *, open_min: bool = False) -> Callable:
    """A check for a float field in [minimum, maximum) (or (minimum, ...) when open_min)."""

    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = " (in YAML, write 1.0e-3, not 1e-3)" if isinstance(value, str) else ""
            return f"expected a number, got {value!r} ({type(value).__name__}){hint}"
        if value != value or value in (float("inf"), float("-inf")):
            return f"expected a finite number, got {value!r}"
        if value < minimum or (open_min and value == minimum):
            return f"{value!r} must be {'>' if open_min else '>='} {minimum}"
        if maximum is not None and value >= maximum:
            return f"{value!r} must be < {maximum}"
        return None

    return check


def _integer(minimum: int) -> Callable:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, got {value!r} ({type(value).__name__})"
        if value < minimum:
            return f"{value!r} must be >= {minimum}"
        return None

    return check


def _boolean(value: Any) -> str | None:
    if not isinstance(value, bool):
        return f"expected true or false, got {value!r} ({type(value).__name__})"
    return None


def _choice(choices: tuple[str, ...]) -> Callable:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"unknown value {value!r}; choose one of: {', '.join(choices)}"
        return None

    return check


_AUGMENT_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "random_crop_padding": _integer(0),
    "horizontal_flip": _boolean,
    "color_jitter": _number(0.0, 1.0),
    "cutout": _integer(0),
}


def _augment_check(value: Any) -> str | None:
    """``augment`` inside HParams: an Augment, or a mapping of some of its keys."""
    if isinstance(value, Augment):
        return None
    if not isinstance(value, Mapping):
        return f"expected a mapping of {', '.join(_AUGMENT_CHECKS)}, got {value!r}"
    unknown = [key for key in value if key not in _AUGMENT_CHECKS]
    if unknown:
        return (
            f"unknown key(s): {', '.join(map(repr, unknown))}; known: {', '.join(_AUGMENT_CHECKS)}"
        )
    for name, check in _AUGMENT_CHECKS.items():
        problem = check(value[name]) if name in value else None
        if problem:
            return f"{name}: {problem}"
    return None


_HPARAM_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "optimizer": _choice(OPTIMIZERS),
    "lr": _number(0.0, open_min=True),
    "momentum": _number(0.0, 1.0),
    "nesterov": _boolean,
    "alpha": _number(0.0, 1.0),
    "weight_decay": _number(0.0),
    "batch_size": _integer(1),
    "epochs": _integer(1),
    "steps": lambda value: None if value is None else _integer(1)(value),
    "label_smoothing": _number(0.0, 1.0),
    "schedule": _choice(SCHEDULES),
    "img_size": lambda value: None if value is None else _integer(1)(value),
    "augment": _augment_check,
}


def _check_values(values: Mapping[str, Any], checks: Mapping[str, Callable], source: str) -> None:
    for name, check in checks.items():
        problem = check(values[name])
        if problem:
            raise ConfigError(f"{source}: {name}: {problem}")
    if values.get("nesterov") and (values["optimizer"] != "sgd" or values["momentum"] == 0):
        raise ConfigError(
            f"{source}: nesterov: needs optimizer 'sgd' with momentum > 0; "
            f"got optimizer={values['optimizer']!r}, momentum={values['momentum']!r}"
        )


def _from_dict(cls: type, data: Any, checks: Mapping[str, Callable], source: str) -> Any:
    """Check the keys and values of ``data`` (naming ``source``), then build ``cls``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping, got {type(data).__name__}")
    unknown = [key for key in data if key not in checks]
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s): {', '.join(map(repr, unknown))}; known: {', '.join(checks)}"
        )
    values = {f.name: f.default for f in fields(cls)}
    values.update(data)
    _check_values(values, checks, source)
    for f in fields(cls):
        # YAML writes 1 for 1.0: keep float fields float so to_dict() round-trips by type.
        if isinstance(f.default, float):
            values[f.name] = float(values[f.name])
        elif isinstance(f.default, Augment) and not isinstance(values[f.name], Augment):
            values[f.name] = Augment.from_dict(values[f.name], f"{source}: {f.name}")
    return cls(**values)


@dataclass(frozen=True)
class Augment:
    """Per-batch augmentation of training batches (never of validation or test), in this
    order: pad-and-random-crop by ``random_crop_padding`` pixels (0: off), random horizontal
    flips (off by default: digits are not mirror-symmetric), color jitter of ``color_jitter``
    strength (brightness, contrast and saturation factors drawn from [1 - s, 1 + s]; 0: off),
    and cutout of one ``cutout`` x ``cutout`` square per image (0: off)."""

    random_crop_padding: int = 0
    horizontal_flip: bool = False
    color_jitter: float = 0.0
    cutout: int = 0

    def __post_init__(self) -> None:
        _check_values(asdict(self), _AUGMENT_CHECKS, "Augment")

    @property
    def enabled(self) -> bool:
        return (
            self.random_crop_padding > 0
            or self.horizontal_flip
            or self.color_jitter > 0
            or self.cutout > 0
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "augment") -> Augment:
        """Build from a mapping such as the config's ``augment`` section."""
        return _from_dict(cls, data, _AUGMENT_CHECKS, source)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HParams:
    """How to train: optimizer, learning rate and schedule, batch size, budget, smoothing,
    input size and augmentation.

    The budget is ``steps`` optimizer steps when set (the last epoch may stop part-way), else
    ``epochs`` passes over the training split: ``budget_steps`` says how many steps that is.
    A budget in steps gives a small split enough updates (many epochs) and a large one no more
    than it needs. ``momentum`` matters for ``sgd`` and ``rmsprop``, ``nesterov`` for ``sgd``,
    ``alpha`` (the squared-gradient average's smoothing constant) for ``rmsprop``. Schedules
    run over the whole budget, in steps: ``cosine`` anneals to 0, ``step`` multiplies by 0.1 at
    each third, ``onecycle`` is OneCycleLR with ``max_lr=lr``, ``none`` keeps ``lr``.
    ``img_size``: ``fit`` resizes the splits to img_size x img_size first (None: as they are);
    ``augment``: the policy applied to training batches.
    """

    optimizer: str = "adamw"
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    alpha: float = 0.99
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 10
    steps: int | None = None
    label_smoothing: float = 0.0
    schedule: str = "cosine"
    img_size: int | None = None
    augment: Augment = Augment()

    def __post_init__(self) -> None:
        _check_values(asdict(self), _HPARAM_CHECKS, "HParams")

    def budget_steps(self, steps_per_epoch: int) -> int:
        """Optimizer steps this training runs: ``steps``, or ``epochs`` x ``steps_per_epoch``."""
        return self.steps if self.steps is not None else self.epochs * steps_per_epoch

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        source: str = "hparams",
        *,
        augment: Augment | Mapping[str, Any] | None = None,
    ) -> HParams:
        """Build from a mapping (e.g. a YAML section); missing keys take their defaults.

        ``augment`` is the default policy (the config's ``data.augment``): the keys of
        ``data["augment"]`` override it one by one, the others keep its values."""
        if augment is not None and isinstance(data, Mapping):
            given = data.get("augment")
            if given is None or isinstance(given, Mapping):
                base = augment.to_dict() if isinstance(augment, Augment) else dict(augment)
                data = {**data, "augment": {**base, **(given or {})}}
        return _from_dict(cls, data, _HPARAM_CHECKS, source)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
