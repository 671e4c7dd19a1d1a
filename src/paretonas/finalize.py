"""Retrain a finalist from its archived YAMLs on the full training split, test it once,
export it.

Only the trial's archive is read (``model.yaml``, ``hparams.yaml``, ``metrics.json``), never
the shared config's search space: what was searched is what gets retrained, at the trial's
input size (``img_size``) and with its augmentation policy, and exported at that size.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import yaml

from paretonas import __version__
from paretonas.data import load_manifest, load_split
from paretonas.errors import ParetonasError
from paretonas.models import ModelSpec, build_model, count_macs, count_params, forward_counts
from paretonas.search import archive, attrs
from paretonas.training import (
    EarlyStop,
    EpochRecord,
    HParams,
    Split,
    budget_steps,
    evaluate,
    f1_noise,
    fit,
    patience_for,
)
from paretonas.yamlio import atomic_write_text, read_yaml

_logger = logging.getLogger(__name__)


class FinalizeError(ParetonasError):
    """A finalist cannot be rebuilt as it was searched (missing archive, changed network)."""


def finalist_trial(finalists_yaml: str | Path, rank: int) -> dict[str, Any]:
    """The ``finalists.yaml`` entry of ``rank``."""
    record = read_yaml(finalists_yaml)
    for entry in record["finalists"]:
        if entry["rank"] == rank:
            return entry
    ranks = [entry["rank"] for entry in record["finalists"]]
    raise FinalizeError(f"{finalists_yaml}: no finalist of rank {rank}; ranks: {ranks}")


def finalize_rank(
    finalists_yaml: str | Path,
    rank: int,
    data_dir: str | Path,
    out_dir: str | Path,
    **options: Any,
) -> dict[str, Any]:
    """The finalize stage for one slot: the finalist of ``rank`` in ``finalists_yaml``,
    retrained from its archive (see ``finalize`` for ``options``)."""
    selection = finalist_trial(finalists_yaml, rank)
    if selection.get("trial") is None:  # select left the slot empty: say so, train nothing
        metrics = {
            "rank": rank,
            "trial": None,
            "empty": selection.get("why", "no finalist"),
            "advice": selection.get("advice", ""),
            "paretonas_version": __version__,
        }
        atomic_write_text(Path(out_dir) / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        _logger.warning("finalist #%d: empty slot: %s", rank, metrics["empty"])
        return metrics
    return finalize(selection["archive"], data_dir, out_dir, selection=selection, **options)


def check_archive(
    trial_dir: Path, spec: ModelSpec, hparams: dict[str, Any], searched: dict[str, Any], model
) -> None:
    """Refuse an archive edited after the search: ``model.yaml`` must build the parameter
    count and MACs the search recorded in ``metrics.json``, ``hparams.yaml`` must hold the
    recorded hyperparameters, and both must hash to the recorded configuration (a changed
    activation keeps the counts; the hash does not)."""
    costs = searched.get("costs") or {}
    where = f"trial {searched.get('number', '?')}: {trial_dir}"
    if costs.get("params") is None:
        raise FinalizeError(
            f"{trial_dir}/metrics.json: no costs.params recorded: cannot check that model.yaml "
            f"is the searched network (was the trial finished?)"
        )
    built = {"params": count_params(model)}
    if costs.get("macs") is not None:
        built["macs"] = forward_counts(model, model.input_shape).macs
    for key, label in (("params", "parameters"), ("macs", "MACs")):
        if key in built and built[key] != costs[key]:
            raise FinalizeError(
                f"{where}/model.yaml: {label} {built[key]:,} but the archive recorded "
                f"{costs[key]:,} (edited after the search?): the archive does not describe "
                f"the searched network"
            )
    recorded = searched.get("hparams")
    if isinstance(recorded, dict) and isinstance(hparams, dict):
        now, then = _flat(hparams), _flat(recorded)
        for key in sorted(now.keys() | then.keys()):
            if now.get(key, "missing") != then.get(key, "missing"):
                raise FinalizeError(
                    f"{where}/hparams.yaml: {key} {now.get(key, 'missing')!r} but the archive "
                    f"recorded {then.get(key, 'missing')!r} (edited after the search?)"
                )
    key, rebuilt = searched.get("config_hash"), archive.config_hash(spec.to_yaml(), hparams)
    if key is not None and rebuilt != key:
        raise FinalizeError(
            f"{where}/model.yaml: config hash {rebuilt} but the archive recorded {key} (edited "
            f"after the search? same parameters and MACs, another network)"
        )
    study_db, number = trial_dir.parent.parent / "study.db", searched.get("number")
    if study_db.is_file() and isinstance(number, int):
        recorded_key = _study_config_hash(study_db, number)
        if recorded_key is not None and rebuilt != recorded_key:
            raise FinalizeError(
                f"{where}: model.yaml and hparams.yaml hash to {rebuilt} but the study "
                f"{study_db} recorded {recorded_key} for trial {number} (edited after the search?)"
            )


def _study_config_hash(study_db: Path, number: int) -> str | None:
    """The configuration hash the study beside a trials/ folder (the snapshot's, or the live
    SQLite study's) recorded for trial ``number``; None when it holds no such record."""
    from paretonas.search.study import StudyError, open_study  # Optuna, when a study is there

    try:
        study = open_study(study_db)  # read-only: finalists run side by side on it
    except StudyError as exc:
        _logger.warning("%s: not checked against the study: %s", study_db, exc)
        return None
    trials = [t for t in study.get_trials(deepcopy=False) if t.number == number]
    return attrs.get(trials[0], attrs.CONFIG_HASH) if trials else None


def _flat(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"augment": {"cutout": 0}}`` -> ``{"augment.cutout": 0}``: a changed field by name."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def finalize(
    trial_dir: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    epochs: int,
    steps: int | None = None,
    device: str = "auto",
    export: bool = True,
    threads: int = 1,
    selection: dict[str, Any] | None = None,
    quantize: str | None = None,
    early_stop: bool = True,
) -> dict[str, Any]:
    """Retrain, test and export the trial archived in ``trial_dir``; return its metrics.
    ``threads``: torch threads (finalists run in parallel jobs, one thread each by default).
    ``quantize`` "int8": an int8 twin of the exported ONNX model too (``paretonas.quantize``),
    tested on the same split, under ``int8`` in the metrics. ``early_stop``: end the
    retraining once val F1 has not improved for ``patience_for`` of its evaluations (the best
    evaluation's weights are kept either way)."""
    started = time.perf_counter()
    torch.set_num_threads(threads)
    trial_dir, out_dir = Path(trial_dir), Path(out_dir)
    if not (trial_dir / "model.yaml").is_file():
        raise FinalizeError(f"{trial_dir}: not a trial archive (no model.yaml)")
    spec, hparams, searched = archive.load_trial(trial_dir)
    seed = int(searched.get("seed", 0))
    torch.manual_seed(seed)
    model = build_model(spec)
    check_archive(trial_dir, spec, hparams, searched, model)
    params = count_params(model)
    manifest = load_manifest(data_dir)
    norm = manifest["normalization"]
    train, val, test = (Split(*load_split(data_dir, f"full/{s}")) for s in ("train", "val", "test"))
    # the budget is finalize's own (the search's steps were sized for its smaller split); the
    # input size and augmentation are the trial's (an archive from before they were recorded:
    # the data's size and data.augment)
    trained = HParams.from_dict(
        hparams, f"{trial_dir}/hparams.yaml", augment=manifest.get("augment") or {}
    )
    hp = replace(trained, epochs=epochs, steps=steps)
    if hp.img_size is not None:
        test = test.resized(hp.img_size)
    if tuple(test.images.shape[1:]) != tuple(model.input_shape):
        raise FinalizeError(
            f"{trial_dir}: model.yaml builds a network for input "
            f"{'x'.join(map(str, model.input_shape))}, but hparams.yaml's img_size "
            f"{hp.img_size} gives the data {'x'.join(map(str, test.images.shape[1:]))}"
        )
    # evaluated at every epoch's end too (fit alone evaluates a budget over 10 epochs only 10
    # times): the best is chosen among all evaluations, and each is logged
    epoch_steps = budget_steps(replace(hp, epochs=1, steps=None), len(train))
    total = budget_steps(hp, len(train))
    stop = EarlyStop(patience_for(math.ceil(total / epoch_steps))) if early_stop else None

    def on_eval(record: EpochRecord) -> str | None:
        _log_epoch(searched.get("number"), record, total, epoch_steps)
        return stop(record) if stop is not None else None

    result = fit(
        model,
        train,
        val,
        hp,
        mean=norm["mean"],
        std=norm["std"],
        seed=seed,
        device=device,
        eval_steps=range(epoch_steps, total, epoch_steps),
        on_eval=on_eval,
    )
    tested = evaluate(
        model,
        test,
        mean=norm["mean"],
        std=norm["std"],
        device=device,
        num_classes=manifest["num_classes"],
    )
    model = model.cpu().eval()
    noise = f1_noise(test.labels, tested.predictions, manifest["num_classes"])
    metrics: dict[str, Any] = {
        "rank": (selection or {}).get("rank"),
        "trial": searched.get("number"),
        "archive": str(trial_dir),
        "why": (selection or {}).get("why"),
        "search": {
            "values": searched.get("objectives"),
            "val_f1": _search_val_f1(searched),
            "val_f1_noise": searched.get("val_f1_noise"),
        },
        "test": {
            **tested.to_dict(),
            "f1_noise": noise.to_dict(),
            "class_names": manifest["class_names"],
            "samples": len(test.labels),
        },
        "val_f1": result.best_val_f1,
        "img_size": hp.img_size,
        "input_shape": list(model.input_shape),
        "params": params,
        "macs": count_macs(model, model.input_shape),
        "best_epoch": result.best_epoch,
        "best_step": result.history[result.best_epoch - 1].step,
        "epochs": epochs,
        "steps": result.budget_steps,
        "steps_run": result.steps,
        "stop_reason": result.stop_reason,
        "history": [epoch.to_dict() for epoch in result.history],
        "hparams": hp.to_dict(),
        "normalization": norm,
        "seed": seed,
        "paretonas_version": __version__,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    spec.save(out_dir / "model.yaml")
    atomic_write_text(out_dir / "hparams.yaml", yaml.safe_dump(hp.to_dict(), sort_keys=True))
    archive.write_weights(
        out_dir,
        spec,
        hp.to_dict(),
        model.state_dict(),
        {
            "normalization": norm,
            "class_names": manifest["class_names"],
            "input_shape": list(model.input_shape),
            "test_accuracy": tested.accuracy,
        },
    )
    metrics["exports"] = _export(model, test, norm, out_dir) if export else {"skipped": "config"}
    if quantize == "int8":
        metrics["int8"] = _int8_twin(out_dir, train, test, norm, hp.img_size, seed)
    metrics["seconds"] = round(time.perf_counter() - started, 3)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    _logger.info(
        "trial %s: test accuracy %.4f, macro-F1 %.4f (95%% interval %.4f-%.4f), %d params "
        "(%d steps, best at %d) in %.1fs",
        metrics["trial"],
        tested.accuracy,
        tested.f1_macro,
        noise.low,
        noise.high,
        params,
        result.budget_steps,
        result.history[result.best_epoch - 1].step,
        metrics["seconds"],
    )
    return metrics


def _log_epoch(trial: Any, record: EpochRecord, total: int, epoch_steps: int) -> None:
    """One progress line per evaluation (every epoch's end, and fit's own points): epoch,
    train loss, validation F1, seconds."""
    _logger.info(
        "trial %s: epoch %d/%d (step %d/%d): train loss %.4f, val F1 %.4f, %.1fs",
        trial,
        record.epoch,
        math.ceil(total / epoch_steps),
        record.step,
        total,
        record.train_loss,
        record.val_f1,
        record.seconds,
    )


def _search_val_f1(searched: dict[str, Any]) -> float | None:
    """The trial's validation F1 in the search (recorded whether or not F1 was an objective)."""
    for key in ("scores", "objectives"):
        value = (searched.get(key) or {}).get("f1")
        if value is not None:
            return value
    return None


def _export(model: torch.nn.Module, test: Split, norm: dict, out_dir: Path) -> dict[str, Any]:
    """TorchScript and ONNX of the (normalized-input) model, checked on real test images at
    the model's own input size (the ONNX input's height and width are fixed to it)."""
    from paretonas.export import export_all

    mean = torch.tensor(norm["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(norm["std"]).view(1, -1, 1, 1)
    batch = (test.images[:16].float() / 255.0 - mean) / std
    results = export_all(model, batch[:1], out_dir, check_batch=batch)
    return {name: result.to_dict() for name, result in results.items()}


def _int8_twin(
    out_dir: Path, train: Split, test: Split, norm: dict, img_size: Any, seed: int
) -> dict[str, Any]:
    """The int8 twin of the exported ONNX model, calibrated on a seeded random sample of the
    training split (at the model's input size) and tested on the whole test split."""
    from paretonas.quantize import CALIBRATION_IMAGES, quantize_finalist

    mean = torch.tensor(norm["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(norm["std"]).view(1, -1, 1, 1)
    generator = torch.Generator().manual_seed(seed)
    picked = torch.randperm(len(train.labels), generator=generator)[:CALIBRATION_IMAGES]
    sample = Split(train.images[picked], train.labels[picked])
    if img_size is not None:
        sample = sample.resized(img_size)

    def normalized(images: torch.Tensor) -> Any:
        return ((images.float() / 255.0 - mean) / std).numpy()

    return quantize_finalist(
        out_dir, normalized(sample.images), normalized(test.images), test.labels.numpy()
    )
