"""Time loading the MNIST-10k splits written by `paretonas prepare-data` (target: < 1 s).

Prepares data/mnist-t10k into a temporary directory (or uses --out DIR if it already holds a
prepared directory), then loads all five splits several times and prints the timings.

    .venv/bin/python benchmarks/data_load.py [--repeat 5] [--out results/data]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from paretonas.data import SPLITS, load_manifest, load_split, prepare_data

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO / "data" / "mnist-t10k"


def time_loads(out_dir: Path, repeat: int) -> list[float]:
    """Seconds to load every split once, ``repeat`` times."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        load_manifest(out_dir)
        for split in SPLITS:
            load_split(out_dir, split)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="an already prepared directory")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out
        if out_dir is None:
            out_dir = Path(tmp) / "data"
            config = {"data": {"source": "idx", "path": str(MNIST)}}
            start = time.perf_counter()
            prepare_data(config, out_dir)
            print(f"prepare-data (idx, MNIST-10k): {time.perf_counter() - start:.3f} s")
        times = time_loads(out_dir, args.repeat)
        sizes = {split: tuple(load_split(out_dir, split)[0].shape) for split in SPLITS}
        total_mb = sum((out_dir / f"{split}.pt").stat().st_size for split in SPLITS) / 1e6
    print(f"splits: {sizes} ({total_mb:.1f} MB on disk)")
    print(
        f"load all 5 splits + manifest: first {times[0] * 1000:.1f} ms, "
        f"median {statistics.median(times) * 1000:.1f} ms, min {min(times) * 1000:.1f} ms "
        f"over {len(times)} runs"
    )


if __name__ == "__main__":
    main()
