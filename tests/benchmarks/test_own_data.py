"""benchmarks/own_data.py's parts that need no workflow run: the generated folder (every class,
32x32 RGB, reproducible from its seed) and the RESULTS.md update (a section of the same title
is replaced, never duplicated)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchmarks.own_data import SHAPES, generate, update_results


def test_the_folder_has_every_shape_at_32x32_rgb_from_its_seed(tmp_path):
    root = generate(tmp_path / "a", per_class=3, seed=5)
    assert sorted(p.name for p in root.iterdir()) == sorted(SHAPES)
    images = sorted(root.glob("*/*.png"))
    assert len(images) == 3 * len(SHAPES)
    for path in images:
        with Image.open(path) as image:
            assert image.mode == "RGB" and image.size == (32, 32)
    again = generate(tmp_path / "b", per_class=3, seed=5)
    first, second = (np.asarray(Image.open(r / "ring" / "0002.png")) for r in (root, again))
    assert np.array_equal(first, second)


def test_results_section_is_inserted_first_and_replaced(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nMachine: x.\n\n## 2026-01-01, older\n\nold\n")
    section = "## 2026-12-03, own data: t\n\nfirst\n"
    update_results(results, section)
    update_results(results, section.replace("first", "second"))
    text = results.read_text()
    assert text.count("## 2026-12-03, own data: t") == 1 and "second" in text
    assert "first" not in text
    assert text.index("own data") < text.index("## 2026-01-01, older")
    assert text.startswith("# Benchmark results\n\nMachine: x.\n\n## 2026-12-03")
