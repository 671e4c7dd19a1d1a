"""Hostile folders, one row per case, run as a user runs `paretonas prepare-data` and
`paretonas init`: symlink loops and a 20 GB file that is no image are named and skipped, and
any folder name (a newline and a key, `#`, `: `, quotes, control characters) reaches the
config `init` writes as data.path only, its comment included."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from paretonas.config import load_config
from paretonas.init_config import comment_word
from tests.cli.test_init import paretonas_init
from tests.hostile.test_image_inputs import GIB, PER_CLASS, SIZE, prepare, small_pngs, sparse
from tests.test_hostile_inputs import one_line_error


def loops_in_a_class(root: Path) -> Path:
    small_pngs(root)
    (root / "a" / "loop1").symlink_to("loop2")
    (root / "a" / "loop2").symlink_to("loop1")
    (root / "a" / "here").symlink_to(".", target_is_directory=True)
    return root


def loop_as_a_class(root: Path) -> Path:
    small_pngs(root)
    (root / "c").symlink_to("c")
    return root


def big_video(root: Path) -> Path:
    small_pngs(root)
    sparse(root / "a" / "clip.mp4", 20 * GIB)
    return root


LOOPS = "a link that leads back to itself or to a folder above it"
# (case, writer, the warning prepare-data prints (and init, when it has a row below))
WARNINGS = [
    (
        "5: symlink loops in a class folder",
        loops_in_a_class,
        f"ignoring 3 symlink loop(s) in {{root}}/a ({LOOPS}): 'here', 'loop1', 'loop2'",
    ),
    (
        "5: a symlink loop beside the class folders",
        loop_as_a_class,
        f"ignoring 1 symlink loop(s) in {{root}} ({LOOPS}): 'c'",
    ),
    (
        "2: a 20 GB file that is no image (clip.mp4)",
        big_video,
        "skipped 1 file(s) that are not images (not counted as unreadable): a/clip.mp4",
    ),
]


@pytest.mark.parametrize(("case", "write", "warning"), WARNINGS, ids=[c[0] for c in WARNINGS])
def test_entries_that_are_no_image_are_named_and_skipped(tmp_path, case, write, warning):
    root = write(tmp_path / "images")
    result, out = prepare(tmp_path, root, img_size=SIZE)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and warnings[0].endswith(warning.format(root=root)), warnings
    manifest = yaml.safe_load((out / "manifest.json").read_text())
    assert manifest["counts"]["all"]["total"] == 2 * PER_CLASS


@pytest.mark.slow  # init times 3 trials: ~30 s here
def test_init_names_symlink_loops_too(project):
    """Case 5 through `paretonas init`: the same warning, and the loops are no images."""
    root = loops_in_a_class(project / "images")
    result = paretonas_init(project, "images")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line]
    expected = f"ignoring 3 symlink loop(s) in images/a ({LOOPS}): 'here', 'loop1', 'loop2'"
    assert len(warnings) == 1 and warnings[0].endswith(expected), result.stderr
    assert result.stdout.startswith("images: imagefolder, 2 classes, 6 images\n")
    assert root.is_dir()


# (case, the folder's name: every character of it must reach data.path and no key besides)
FOLDER_NAMES = [
    ("6: a newline and a key", "x\nseed: 666"),
    ("6: a comment sign, a colon and quotes", "a # b: 'c' \"d\""),
    ("6: control characters and a line separator", "bell\x07\r\u2028tab\tend"),
]


@pytest.mark.slow  # init times 3 trials: ~30 s here
@pytest.mark.parametrize(("case", "name"), FOLDER_NAMES, ids=[c[0] for c in FOLDER_NAMES])
def test_init_writes_any_folder_name_as_data(project, monkeypatch, case, name):
    small_pngs(project / "data" / name)
    result = paretonas_init(project, f"data/{name}", "--name", "pets")
    assert result.returncode == 0, result.stderr
    path = project / "config" / "pets.yaml"
    text = path.read_text(encoding="utf-8")
    written = yaml.safe_load(text)
    assert list(written) == ["results_dir", "data", "search", "finalize", "estimate"]
    assert list(written["data"]) == [
        "source", "path", "img_size", "channels", "search_fraction",
    ]  # fmt: skip
    assert written["data"]["path"] == f"data/{name}" and written["results_dir"] == "results/pets"
    comments = text[: text.index("results_dir:")].splitlines()
    assert len(comments) == 5 and all(line.startswith("# ") for line in comments), comments
    monkeypatch.chdir(project)
    assert load_config(path)["data"]["path"] == f"data/{name}"  # the project's loader agrees
    assert Path(load_config(path)["data"]["path"]).is_dir()


@pytest.mark.parametrize(
    "name",
    [
        *(name for _, name in FOLDER_NAMES),
        "plain",
        "it's",
        "nbsp\xa0nel\x85",
        os.fsdecode(b"caf\xe9"),
    ],
)
def test_the_command_in_the_comment_gives_bash_the_folder_name_back(name):
    """Case 6: the header's `paretonas init WORD` is one line, and bash turns WORD back into
    the folder's exact bytes (a name that is not UTF-8 included)."""
    word = comment_word(name)
    assert word.isprintable()  # no line break, no control character: the comment holds it
    echoed = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, check=True)
    assert echoed.stdout == os.fsencode(name)


@pytest.mark.parametrize("verb", ["prepare-data", "init"])
def test_a_folder_that_is_a_symlink_loop_is_named_so(project, verb):
    """Case 5 where data.path itself (or init's DIR) is the loop."""
    (project / "images").symlink_to("images")
    if verb == "init":
        result = paretonas_init(project, "images")
        where = "images"
    else:
        result, _ = prepare(project, project / "images")
        where = f"data.path: {project / 'images'}"
    one_line_error(result, verb, f"error: {where}: a symlink loop (it leads back to itself)")
    assert sorted(p.name for p in project.iterdir()) == sorted(
        ["config", "images"] + (["c.yaml"] if verb == "prepare-data" else [])
    )
