"""`paretonas init DIR`: inspect a folder of images, write config/NAME.yaml, say how to run it."""

from __future__ import annotations

import argparse
import textwrap

from paretonas.init_config import (
    DEFAULT_MINUTES,
    IMG_SIZE_RANGE,
    InitPlan,
    init_config,
    run_command,
)
from paretonas.search.estimate import format_duration

NAME = "init"
HELP = (
    "inspect a folder of your images (one subfolder per class, or MNIST-format IDX files) "
    "and write config/NAME.yaml for it, with a budget sized to the data and this machine"
)
_CLASS_ROWS = 40  # classes listed one a line; the rest are summed up
_SIZE_ROWS = 4
_EXAMPLES = 3
_WIDTH = 96
_INDENT = " " * 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="DIR", help="the image folder (DIR/<class>/<image>)")
    parser.add_argument(
        "--name", help="config/NAME.yaml and results/NAME (default: the folder's name)"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace config/NAME.yaml (and NAME_space.yaml)"
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=DEFAULT_MINUTES,
        help=f"search time to size the trial count for (default {DEFAULT_MINUTES:g})",
    )


def run(args: argparse.Namespace) -> int:
    plan = init_config(args.path, args.name, force=args.force, minutes=args.minutes)
    print(format_summary(plan))
    return 0


def format_summary(plan: InitPlan) -> str:
    """The data, what was written and why, the estimate, and the command to run."""
    return "\n".join([*_data_lines(plan), "", *_config_lines(plan), "", "run it:"]) + (
        f"\n  {run_command(plan)}"
    )


def _data_lines(plan: InitPlan) -> list[str]:
    report = plan.report
    width = max(12, *(len(name) + 2 for name in report.class_names[:_CLASS_ROWS]))
    lines = [
        f"{report.path}: {report.source}, {len(report.class_names)} classes, "
        f"{report.images:,} images",
        f"  {'class':<{width}}{'images':>8}",
    ]
    rows = list(zip(report.class_names, report.counts, strict=True))
    lines += [f"  {name:<{width}}{count:>8,}" for name, count in rows[:_CLASS_ROWS]]
    if len(rows) > _CLASS_ROWS:
        rest = [count for _, count in rows[_CLASS_ROWS:]]
        lines.append(
            f"  ({len(rest)} more classes: {min(rest):,} to {max(rest):,} images, "
            f"{sum(rest):,} in all)"
        )
    lines.append(f"  {'total':<{width}}{report.images:>8,}")
    sizes = report.sizes.most_common()
    shown = ", ".join(f"{w}x{h} {n:,}" for (w, h), n in sizes[:_SIZE_ROWS])
    more = f" (+{len(sizes) - _SIZE_ROWS} more sizes)" if len(sizes) > _SIZE_ROWS else ""
    sides = report.short_sides
    lines.append(f"  sizes (WxH)   {shown}{more}")
    lines.append(
        f"  short side    min {sides[0]}, median {report.median_short_side:g}, max {sides[-1]}"
    )
    modes = ", ".join(f"{mode} {n:,}" for mode, n in report.modes.most_common())
    color = "all grayscale" if report.gray else "some in color"
    lines.append(f"  modes         {modes} ({color})")
    if report.bad:
        looked_at = report.files + len(report.bad) - len(report.unreadable)
        lines.append(
            f"  skipped       {len(report.bad)} of {looked_at:,} files (prepare-data does too)"
        )
        for kind in ("not an image", "unreadable"):
            bad = [b for b in report.bad if b.kind == kind]
            if bad:
                examples = ", ".join(
                    b.path if kind == "not an image" else f"{b.path} ({b.reason})"
                    for b in bad[:_EXAMPLES]
                )
                etc = ", ..." if len(bad) > _EXAMPLES else ""
                lines += _wrap(f"{kind}: {len(bad)}: {examples}{etc}", _INDENT)
    return lines


def _config_lines(plan: InitPlan) -> list[str]:
    config, report = plan.config, plan.report
    data, search = config["data"], config["search"]
    written = f"wrote {plan.config_path.as_posix()}"
    if plan.space_written:
        written += f" and {plan.space_path.as_posix()}"
    shape = "x".join(map(str, plan.input_shape))
    if report.source == "idx":
        why = "the IDX files' own size"
    else:
        low, high = IMG_SIZE_RANGE
        why = (
            f"img_size {data['img_size']}: the median short side "
            f"{report.median_short_side:g}, to a multiple of 4 within {low}-{high}; "
            f"channels {data['channels']}: {'all grayscale' if report.gray else 'color'}"
        )
    splits = plan.splits
    estimate, calibration = plan.estimate, plan.calibration
    duration = format_duration
    how = (
        f"(the whole workflow, search sized to --minutes with the other stages taken off; from "
        f"timing {calibration.describe()}; paretonas status and the report show it against "
        "the actual times)"
    )
    lines = [written]
    lines += _row("input", f"{shape} ({why})")
    lines += _row(
        "splits",
        f"train {splits['full/train']:,}, val {splits['full/val']:,}, "
        f"test {splits['full/test']:,}; the search trains on {splits['search/train']:,} and "
        f"scores on {splits['search/val']:,} (search_fraction {data['search_fraction']:g})",
    )
    lines += _row(
        "budget",
        f"{search['n_trials']} trials x {plan.steps} steps (batch ~{plan.batch_size:g}), "
        f"{search['workers']} workers on {plan.cores} cores; space {search['space']}",
    )
    lines += _row(
        "predicted",
        f"~{duration(estimate.total)} in all: data {duration(estimate.data)}, "
        f"search {duration(estimate.search)}, profile {duration(estimate.profile)}, "
        f"finalize and baseline {duration(estimate.finalize)}, job starts and the other "
        f"steps {duration(estimate.bookkeeping)}",
    )
    lines += _wrap(how, _INDENT)
    for note in plan.notes:
        lines += _row("note", note)
    return lines


def _row(label: str, text: str) -> list[str]:
    """``  label         text``, wrapped under the text."""
    return _wrap(text, f"  {label:<14}")


def _wrap(text: str, first: str) -> list[str]:
    """``text`` in lines of at most ``_WIDTH``, starting after ``first``, then under it."""
    return textwrap.wrap(
        text,
        _WIDTH,
        initial_indent=first,
        subsequent_indent=_INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )
