"""`paretonas init`: a workflow config for a folder of the user's own images.

Reads top to bottom: name the config and refuse to overwrite one, inspect the folder
(``paretonas.data.inspect``), choose the image size and channels from the data, the search
split from the class counts, augmentation for small data, time a few real trials on this
machine (``paretonas.search.calibrate``), size the finalists' retraining, predict the stages
around the search (``paretonas.search.estimate``) and give the search what ``--minutes``
leaves (steps, trials, workers), then write ``config/NAME.yaml`` with the prediction (and
``config/NAME_space.yaml`` when the default space needs other steps, a strided stem or
augmentation) after validating both.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import re
import shlex
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from paretonas import __version__
from paretonas.config import default_config, load_config, validate_config
from paretonas.data import search_subsample, stratified_split
from paretonas.data.inspect import IDX, SourceReport, inspect_source, sample_images
from paretonas.errors import ConfigError
from paretonas.search.calibrate import Calibration, calibrate
from paretonas.search.estimate import (
    Estimate,
    estimate_seconds,
    format_duration,
    job_start_seconds,
)
from paretonas.search.space import SearchSpace
from paretonas.search.space_checks import drawable
from paretonas.small_data import (
    SMALL_SEARCH_EPOCHS,
    SMALL_SEARCH_MIN_STEPS,
    choose_finalize_epochs,
    describe_augment,
    is_small,
    small_data_augment,
)
from paretonas.yamlio import atomic_write_text, read_yaml

_logger = logging.getLogger(__name__)

CONFIG_DIR = Path("config")
IMG_SIZE_RANGE = (16, 64)  # what a CPU search trains in minutes; the median short side, clamped
STRIDED_STEM_FROM = 48  # from this size on the stem strides by 2 (the search then costs ~32 px)
SEARCH_TRAIN_PER_CLASS = 250  # search/train aims at this many images a class on average
SEARCH_EPOCHS = 15  # a trial's budget in epochs of search/train (the default: 200 steps of digits)
STEPS_RANGE = (100, 1000)
TRIALS_RANGE = (20, 100)  # 20: the sampler's 10 random startup trials, then as many of TPE
MAX_WORKERS = 8
DEFAULT_MINUTES = 30.0
CALIBRATION_IMAGES = 512
# config/NAME.yaml and config/NAME_space.yaml must never replace the files the defaults name
_RESERVED = {"config", "search"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass
class InitPlan:
    """What ``init`` chose and wrote, and why (``format_summary`` prints it)."""

    name: str
    report: SourceReport
    config: dict[str, Any]  # as written (validate_config accepts it)
    config_path: Path
    space_path: Path
    space_written: bool
    input_shape: tuple[int, int, int]
    splits: dict[str, int]  # images in each split (full/train, ..., search/val)
    steps: int
    batch_size: float  # the space's typical batch size
    cores: int
    calibration: Calibration
    estimate: Estimate
    notes: list[str] = field(default_factory=list)


def config_name(directory: str | os.PathLike, name: str | None = None) -> str:
    """``name`` checked, or the folder's name made safe for a file name (``My Trash!`` ->
    ``my_trash``); the names of the default config and space are refused."""
    if name is None:
        try:
            raw = Path(directory).resolve().name
        except (OSError, RuntimeError):  # a symlink loop (inspect_source then names it)
            raw = Path(os.path.abspath(directory)).name
        name = re.sub(r"[^a-z0-9_-]+", "_", raw.lower()).strip("_-") or "data"
    elif not _NAME.fullmatch(name):
        raise ConfigError(
            f"--name: {name!r}: use letters, digits, '_', '-' and '.' (starting with a letter "
            "or digit): it names config/NAME.yaml and results/NAME"
        )
    if name in _RESERVED:
        raise ConfigError(
            f"--name: {name!r} would write config/{name}.yaml or config/{name}_space.yaml, "
            "which the defaults use; pass another --name"
        )
    return name


def available_cores() -> int:
    """CPUs this process may run on (its affinity, as a container or SLURM sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def init_config(
    directory: str | os.PathLike,
    name: str | None = None,
    *,
    force: bool = False,
    minutes: float = DEFAULT_MINUTES,
    config_dir: str | os.PathLike = CONFIG_DIR,
    calibration_models: int = 3,
    calibration_steps: int = 30,
) -> InitPlan:
    """Inspect ``directory`` and write ``config_dir/NAME.yaml`` for it (see the module).
    ``calibration_models`` models drawn from the space train up to ``calibration_steps``
    steps each to time a trial here."""
    if not minutes > 0:
        raise ConfigError(f"--minutes: {minutes} must be greater than 0")
    name = config_name(directory, name)
    config_dir = Path(config_dir)
    config_path = config_dir / f"{name}.yaml"
    own_space_path = config_dir / f"{name}_space.yaml"
    for path in (config_path, own_space_path):
        if path.exists() and not force:
            raise ConfigError(f"{path}: exists; pass --force to replace it, or --name another")
    # what the written keys go over: snakemake merges --configfile over config/config.yaml
    base_config = config_dir / "config.yaml"
    defaults = load_config(base_config) if base_config.is_file() else default_config()
    base_space_path = Path(defaults["search"]["space"])
    if not base_space_path.is_file():
        raise ConfigError(
            f"{base_space_path}: no such file; run paretonas init from the repository root "
            "(where config/ and workflow/ are)"
        )
    base_space = read_yaml(base_space_path)
    report = inspect_source(directory)

    img_size = choose_img_size(report)
    channels = 1 if report.gray else 3
    images, labels = sample_images(report, CALIBRATION_IMAGES, img_size, channels)
    input_shape = tuple(int(d) for d in images.shape[1:])
    data = dict(defaults["data"])
    data["search_fraction"] = choose_search_fraction(report.counts, data)
    splits = split_sizes(report.counts, data)
    small = is_small(splits, len(report.class_names))
    space = copy.deepcopy(base_space)
    if min(input_shape[1:]) >= STRIDED_STEM_FROM:
        space["model"]["stem"]["stride"] = 2
    if small and "augment" not in space["hparams"]:
        space["hparams"]["augment"] = small_data_augment(input_shape)
    compiled = SearchSpace(space, str(base_space_path))
    calibration = calibrate(
        compiled,
        images,
        labels,
        len(report.class_names),
        models=calibration_models,
        steps=calibration_steps,
    )

    batch = typical_batch_size(compiled)
    cores = available_cores()
    workers = max(1, min(cores, MAX_WORKERS))
    finalize = dict(defaults["finalize"])
    if small and finalize["steps"] is None:
        finalize["epochs"] = choose_finalize_epochs(
            calibration, splits, batch, finalize["epochs"], defaults["select"]["k"], cores, minutes
        )
    job_start = job_start_seconds()

    def estimate(steps: int, n_trials: int) -> Estimate:
        """The whole workflow's time with a search of ``n_trials`` x ``steps``."""
        return estimate_seconds(
            calibration, splits, steps, batch, n_trials, workers, cores, defaults,
            report.seconds, job_start, finalize,
        )  # fmt: skip

    # the stages around the search first: the search gets what is left of ``minutes``
    around = estimate(0, 0)
    steps, n_trials = choose_budget(
        calibration, splits, batch, workers, max(0.0, minutes - around.total / 60), small
    )
    space["hparams"].pop("epochs", None)
    space["hparams"]["steps"] = steps
    space_written = space != base_space  # compiled above but for steps, which any int >= 1 is
    space_path = own_space_path if space_written else base_space_path

    config: dict[str, Any] = {
        "results_dir": f"results/{name}",
        "data": {"source": report.source, "path": _config_path(report.path)},
        "search": {"space": space_path.as_posix(), "n_trials": n_trials, "workers": workers},
    }
    if report.source != IDX:
        config["data"].update(img_size=img_size, channels=channels)
    config["data"]["search_fraction"] = data["search_fraction"]
    notes = []
    if report.bad_fraction > data["max_bad_fraction"]:
        allowed = math.ceil(report.bad_fraction * 1000 - 1e-9) / 1000
        config["data"]["max_bad_fraction"] = allowed
        notes.append(
            f"data.max_bad_fraction {allowed}: prepare-data skips the {len(report.unreadable)} "
            f"unreadable file(s) (its default {data['max_bad_fraction']} would stop on them)"
        )
    if finalize["epochs"] != defaults["finalize"]["epochs"]:
        config["finalize"] = {"epochs": finalize["epochs"]}
    predicted = estimate(steps, n_trials)
    config["estimate"] = predicted.to_config()
    validate_config(config, str(config_path))
    if small:
        notes.append(
            f"small data ({splits['full/train'] / len(report.class_names):.0f} training images a "
            f"class): the space augments ({describe_augment(space['hparams'].get('augment'))}); "
            f"finalists retrain up to {finalize['epochs']} epochs with early stopping"
        )
    if predicted.total > minutes * 60 * 1.1:
        notes.append(
            f"over --minutes {minutes:g}: the stages around the search take "
            f"{format_duration(around.total)} and the search at least {TRIALS_RANGE[0]} trials "
            f"of {steps} steps; the prediction is the time to expect"
        )

    plan = InitPlan(
        name=name,
        report=report,
        config=config,
        config_path=config_path,
        space_path=space_path,
        space_written=space_written,
        input_shape=input_shape,  # type: ignore[arg-type]
        splits=splits,
        steps=steps,
        batch_size=batch,
        cores=cores,
        calibration=calibration,
        estimate=predicted,
        notes=notes,
    )
    if space_written:
        atomic_write_text(own_space_path, _space_text(plan, base_space_path, space))
    atomic_write_text(config_path, _config_text(plan))
    _logger.debug("init: wrote %s", config_path)
    return plan


def choose_img_size(report: SourceReport) -> int | None:
    """The median short side, rounded down to a multiple of 4 and clamped to
    ``IMG_SIZE_RANGE``; None for IDX, which keeps its native size."""
    if report.source == IDX:
        return None
    low, high = IMG_SIZE_RANGE
    return max(low, min(high, int(report.median_short_side) // 4 * 4))


def choose_search_fraction(counts: list[int], data: dict[str, Any]) -> float:
    """The fraction of train and val the search uses: enough for ``SEARCH_TRAIN_PER_CLASS``
    training images and ``data.search_val_min_per_class`` validation images a class on average
    (a smaller class keeps all of its val through ``search_val_min_per_class``); rounded up
    to a hundredth, at most 1."""
    sizes = split_sizes(counts, {**data, "search_fraction": 1.0})
    classes = len(counts)
    val_min = data.get("search_val_min_per_class") or 0
    needed = max(
        SEARCH_TRAIN_PER_CLASS * classes / sizes["full/train"],
        val_min * classes / sizes["full/val"],
    )
    return min(1.0, math.ceil(needed * 100 - 1e-9) / 100)  # 0.07 * 100 is 7.000000000000001


def split_sizes(counts: list[int], data: dict[str, Any], seed: int = 0) -> dict[str, int]:
    """Images in each split for these class counts, computed by the data stage's own
    functions (the sizes depend only on the counts and the fractions)."""
    labels = np.repeat(np.arange(len(counts)), counts)
    names = [str(i) for i in range(len(counts))]
    rows = stratified_split(labels, names, data["test_fraction"], data["val_fraction"], seed)
    for split in ("train", "val"):
        rows[f"search/{split}"] = search_subsample(
            labels,
            rows[f"full/{split}"],
            names,
            data["search_fraction"],
            data.get("search_max_per_class"),
            seed,
            split,
            data.get("search_val_min_per_class") if split == "val" else None,
        )
    return {split: len(index) for split, index in rows.items()}


def typical_batch_size(space: SearchSpace) -> float:
    """The mean of the batch sizes the space can draw (a range: its ends)."""
    param = space.hparams.get("batch_size")
    try:
        values = drawable(param) if param is not None else [64]
    except TypeError:  # a branch: not worth modelling here
        values = [64]
    return float(statistics.fmean(values))


def choose_budget(
    calibration: Calibration,
    splits: dict[str, int],
    batch: float,
    workers: int,
    minutes: float,
    small: bool = False,
) -> tuple[int, int]:
    """Steps a trial and trials in all: ``SEARCH_EPOCHS`` epochs of search/train (within
    ``STEPS_RANGE``, in fifties), then as many trials as ``minutes`` of ``workers`` hold
    (within ``TRIALS_RANGE``); fewer steps when even the fewest trials would not fit. Small
    (augmented) data gets ``SMALL_SEARCH_EPOCHS`` and never fewer than
    ``SMALL_SEARCH_MIN_STEPS`` steps: a shorter trial on it learns too little to rank."""
    train, val = splits["search/train"], splits["search/val"]
    per_epoch = math.ceil(train / batch)
    low, high = STEPS_RANGE
    epochs = SMALL_SEARCH_EPOCHS if small else SEARCH_EPOCHS
    if small:
        low = SMALL_SEARCH_MIN_STEPS
    steps = max(low, min(high, _fifties(epochs * train / batch)))
    seconds = minutes * 60 * workers

    def trials(steps: int) -> int:
        return math.floor(seconds / calibration.trial_seconds(steps, per_epoch, val))

    if trials(steps) < TRIALS_RANGE[0]:  # too slow here for that budget: fewer steps
        while steps > low and trials(steps) < TRIALS_RANGE[0]:
            steps = max(low, steps - 50)
    return steps, max(TRIALS_RANGE[0], min(TRIALS_RANGE[1], trials(steps)))


def _fifties(value: float) -> int:
    return int(round(value / 50) * 50)


def _config_path(path: Path) -> str:
    """``path`` relative to the working directory (where snakemake runs) when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _space_text(plan: InitPlan, base: Path, space: dict[str, Any]) -> str:
    changes = [f"hparams.steps: {plan.steps}"]
    if space["model"]["stem"].get("stride") == 2:
        changes.append(f"model.stem.stride: 2 ({plan.input_shape[1]} px images)")
    shown = comment_word(base.as_posix())
    header = (
        f"# Search space for config/{plan.name}.yaml, written by `paretonas init`: {shown} with\n"
        f"# {'; '.join(changes)}. {shown} explains every key.\n"
    )
    return header + yaml.safe_dump(space, sort_keys=False, default_flow_style=None)


def _config_text(plan: InitPlan) -> str:
    report = plan.report
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Written by `paretonas init {comment_word(plan.config['data']['path'])}` "
        f"(paretonas {__version__},"
        f" {created}).",
        f"# {report.source}: {report.images:,} images, {len(report.class_names)} classes, "
        f"input {'x'.join(map(str, plan.input_shape))}.",
        f"# Budget sized here: {plan.steps} steps a trial, estimated "
        f"{format_duration(plan.estimate.total)} on {plan.cores} cores (paretonas init says how).",
        f"# Run: {run_command(plan)}",
        "# Keys left out take config/config.yaml's values (every key: config/README.md).",
    ]
    return "\n".join(lines) + "\n" + yaml.safe_dump(plan.config, sort_keys=False)


def comment_word(text: str) -> str:
    """``text`` as one shell word that cannot leave a YAML comment: shell-quoted when every
    character is printable, else in bash's ``$'...'`` form (what ``printf %q`` prints), so a
    newline or a control character in a folder name cannot end the comment and start a key
    (PyYAML also refuses a file with a control character anywhere, comments included)."""
    if text.isprintable():
        return shlex.quote(text)
    return "$'" + "".join(map(_escaped, text)) + "'"


def _escaped(character: str) -> str:
    """One character inside bash's ``$'...'``: printable ones as they are, the rest escaped."""
    if character in "\\'":
        return "\\" + character
    if character.isprintable():
        return character
    code = ord(character)
    if character in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[character]
    if code < 0x80 or 0xDC80 <= code <= 0xDCFF:  # ASCII, or a byte a name could not decode
        return f"\\x{code & 0xFF:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def run_command(plan: InitPlan) -> str:
    return f"snakemake --cores {plan.cores} --configfile {plan.config_path.as_posix()}"
