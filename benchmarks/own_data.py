"""Own data as a new user runs it: a generated folder of shapes, ``paretonas init``, then the
``snakemake`` command init prints, timed end to end.

The folder: 6 classes of 32x32 RGB images (circle, square, triangle, cross, ring, bar), each
shape in a random colour on a random background colour, at a random position, size and
rotation, with pixel noise; ``--per-class`` images a class, drawn from ``--seed``. It is
written to a temp dir, never to the repository.

In a copy of the repository's workflow files (as B5 makes it), with this venv's bin first on
PATH: ``paretonas init DIR --name shapes --minutes M``, then the printed command. Figures:
init's predicted total against the measured wall of the printed command, the finalists' test
accuracy and the plain-CNN baseline's, with the 1-minute load average before and after (the
time is only meaningful on a quiet machine). Usage::

    .venv/bin/python -m benchmarks.own_data [--per-class 150 80] [--minutes 10] [--seed 0]
        [--keep DIR] [--json out.json] [--results benchmarks/RESULTS.md]

Goals: the command's wall within 25% of init's prediction; at 150 a class the best finalist
>= 0.85 and every finalist >= 0.70 or empty; at 80 a class the best >= 0.65 and none at chance.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.b5_workflow import env_without_slurm, make_project, project_env, snakemake, timed
from benchmarks.common import machine, write_json

SHAPES = ("circle", "square", "triangle", "cross", "ring", "bar")
SIZE = 32
_DRAW = 4  # drawn at 4x, then reduced: anti-aliased edges
NAME = "shapes"
TIME_TOLERANCE = 0.25
GOALS = {150: (0.85, 0.70), 80: (0.65, None)}  # per class: (best finalist, every finalist)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, size=3))  # type: ignore[return-value]


def _far_colour(rng: np.random.Generator, other: tuple[int, int, int]) -> tuple[int, int, int]:
    """A colour at least 120 away (L1 over the channels) from ``other``: the shape shows."""
    while True:
        colour = _colour(rng)
        if sum(abs(a - b) for a, b in zip(colour, other, strict=True)) >= 120:
            return colour


def _polygon(points: np.ndarray, centre: np.ndarray, angle: float) -> list[tuple[float, float]]:
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return [tuple(p) for p in points @ rotation.T + centre]


def draw_shape(shape: str, rng: np.random.Generator) -> Image.Image:
    """One ``SIZE`` x ``SIZE`` RGB image of ``shape``."""
    side = SIZE * _DRAW
    background = _colour(rng)
    colour = _far_colour(rng, background)
    image = Image.new("RGB", (side, side), background)
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(0.22, 0.36) * side
    margin = radius * 1.05
    centre = rng.uniform(margin, side - margin, size=2)
    angle = rng.uniform(0, 2 * math.pi)
    r = radius
    if shape == "circle":
        draw.ellipse([*(centre - r), *(centre + r)], fill=colour)
    elif shape == "ring":
        draw.ellipse([*(centre - r), *(centre + r)], fill=colour)
        inner = r * rng.uniform(0.45, 0.65)
        draw.ellipse([*(centre - inner), *(centre + inner)], fill=background)
    elif shape == "square":
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * r * 0.75
        draw.polygon(_polygon(corners, centre, angle), fill=colour)
    elif shape == "triangle":
        corners = np.array([[math.cos(a), math.sin(a)] for a in (0, 2.094, 4.189)]) * r
        draw.polygon(_polygon(corners, centre, angle), fill=colour)
    elif shape == "cross":
        arm = r * rng.uniform(0.22, 0.32)
        for corners in (
            np.array([[-r, -arm], [r, -arm], [r, arm], [-r, arm]]),
            np.array([[-arm, -r], [arm, -r], [arm, r], [-arm, r]]),
        ):
            draw.polygon(_polygon(corners, centre, angle), fill=colour)
    elif shape == "bar":
        half = r * rng.uniform(0.15, 0.25)
        corners = np.array([[-r, -half], [r, -half], [r, half], [-r, half]])
        draw.polygon(_polygon(corners, centre, angle), fill=colour)
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    small = np.asarray(image.resize((SIZE, SIZE), Image.Resampling.LANCZOS), dtype=np.float32)
    noisy = small + rng.normal(0, rng.uniform(4, 16), size=small.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def generate(root: Path, per_class: int, seed: int) -> Path:
    """``root/<shape>/<i>.png``: ``per_class`` images of each shape."""
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        folder = root / shape
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw_shape(shape, rng).save(folder / f"{i:04d}.png")
    return root


def _load() -> float:
    return os.getloadavg()[0]


def run_case(work: Path, per_class: int, minutes: float, seed: int) -> dict[str, Any]:
    """Generate, init, run the printed command; the figures of one folder size."""
    case = work / f"per-class-{per_class}"
    images = generate(case / "images", per_class, seed)
    project = make_project(case)
    env = env_without_slurm(project_env(case), case)
    paretonas = [str(Path(sys.executable).parent / "paretonas")]
    load_before = _load()
    started = time.perf_counter()
    init_wall, init_out = timed(
        [*paretonas, "init", str(images), "--name", NAME, "--minutes", f"{minutes:g}"],
        project,
        env,
        timeout=1800,
    )
    command = init_out.strip().splitlines()[-1].split()
    if command[:1] != ["snakemake"]:
        raise RuntimeError(f"init's last line is not a snakemake command:\n{init_out}")
    run_wall, _ = timed([*snakemake(), *command[1:]], project, env, timeout=6 * 3600)
    wall = time.perf_counter() - started
    results = project / "results" / NAME
    timing = json.loads((results / "report" / "timing.json").read_text())
    finalists = []
    for path in sorted((results / "finalists").glob("*/metrics.json")):
        metrics = json.loads(path.read_text())
        accuracy = (metrics.get("test") or {}).get("accuracy")
        finalists.append(
            {
                "rank": metrics["rank"],
                "trial": metrics.get("trial"),
                "test_accuracy": accuracy,
                "params": metrics.get("params"),
                "best_step": metrics.get("best_step"),
                "steps": metrics.get("steps"),
                "empty": metrics.get("empty"),
            }
        )
    baseline = json.loads((results / "baseline" / "metrics.json").read_text())
    best, floor = GOALS.get(per_class, (None, None))
    accuracies = [f["test_accuracy"] for f in finalists if f["test_accuracy"] is not None]
    chance = 1 / len(SHAPES)
    predicted = timing["predicted_seconds"]
    return {
        "per_class": per_class,
        "minutes": minutes,
        "seed": seed,
        "init_output": init_out.rstrip(),
        "init_seconds": round(init_wall, 1),
        "workflow_seconds": round(run_wall, 1),
        "wall_seconds": round(wall, 1),
        "predicted_seconds": predicted,
        "report_timing": timing,
        "workflow_over_predicted": round(run_wall / predicted, 3) if predicted else None,
        "load_before": load_before,
        "load_after": _load(),
        "finalists": finalists,
        "baseline": {
            "test_accuracy": baseline["test"]["accuracy"],
            "params": baseline["params"],
            "best_step": baseline.get("best_step"),
            "steps": baseline.get("steps"),
        },
        "goals": {
            "time": abs(run_wall / predicted - 1) <= TIME_TOLERANCE if predicted else None,
            "best": None if best is None else bool(accuracies) and max(accuracies) >= best,
            "every": None if floor is None else all(a >= floor for a in accuracies),
            "above_chance": all(a > chance + 0.1 for a in accuracies),
        },
    }


def markdown(cases: list[dict[str, Any]], command: str) -> str:
    """A RESULTS.md section: the machine, the command, and each case's figures."""
    info = machine()
    lines = [
        f"## {info['date'][:10]}, own data: init's time promise and small-data quality "
        "(issue [2/4])",
        "",
        f"Command: `{command}`. Machine: {info['cores']} cores ({info['cpu']}), "
        f"{info['memory_gib']} GiB, Python {info['python']}, torch {info['torch']}; "
        f"{info['date']}.",
        "",
        "| images a class | load before/after | predicted | workflow wall (init before it) | "
        "workflow / predicted | finalists' test accuracy | baseline CNN | goals |",
        "|---:|---|---:|---:|---:|---|---:|---|",
    ]
    for case in cases:
        finalists = ", ".join(
            "empty" if f["test_accuracy"] is None else f"{f['test_accuracy']:.3f}"
            for f in case["finalists"]
        )
        goals = ", ".join(
            f"{k} {'met' if v else 'NOT met'}" for k, v in case["goals"].items() if v is not None
        )
        lines.append(
            f"| {case['per_class']} | {case['load_before']:.1f}/{case['load_after']:.1f} | "
            f"{case['predicted_seconds']:.0f} s | {case['workflow_seconds']:.0f} s "
            f"({case['init_seconds']:.0f} s) | "
            f"{case['workflow_over_predicted']:.2f} | {finalists} | "
            f"{case['baseline']['test_accuracy']:.3f} | {goals} |"
        )
    for case in cases:
        lines += [
            "",
            f"init's output at {case['per_class']} a class:",
            "",
            "```",
            case["init_output"],
            "```",
        ]
    return "\n".join(lines) + "\n"


def update_results(path: Path, section: str) -> None:
    """Insert ``section`` after RESULTS.md's preamble (newest first), replacing an own-data
    section of the same date."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    title = section.splitlines()[0]
    text = re.sub(rf"{re.escape(title)}\n.*?(?=\n## |\Z)", "", text, flags=re.S)
    head, sep, rest = text.partition("\n## ")
    updated = head.rstrip("\n") + "\n\n" + section + (("\n## " + rest) if sep else "")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=[150, 80])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--results", type=Path, help="add the figures to this RESULTS.md")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="paretonas-own-data-"))
    try:
        cases = [run_case(work, n, args.minutes, args.seed) for n in args.per_class]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    summary = {"machine": machine(), "cases": cases}
    for case in cases:
        print(case["init_output"])
        print(json.dumps({k: v for k, v in case.items() if k != "init_output"}, indent=2))
    write_json(args.json, summary)
    if args.results is not None:
        command = "python -m benchmarks.own_data " + " ".join(argv or sys.argv[1:])
        update_results(args.results, markdown(cases, command))
    return summary


if __name__ == "__main__":
    main()
