"""Hostile inputs, round 3: what readers do to a study file, finalize's budget flags and a
tampered trial archive. Each row runs the `paretonas` console script as a user would and
asserts exit 2, one error line naming the file, flag or trial and the value, no traceback, and
not a byte written: every reader (status, dashboard, report, select, profile) opens a study
read-only, so a foreign file, and a real snapshot too, are left exactly as they were."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sqlite3
from pathlib import Path

import optuna
import pytest

from paretonas.search.archive import config_hash, load_trial
from tests.conftest import MODELS_DIR, paretonas
from tests.search.conftest import fast_space, run_search, search_config
from tests.search.studies import make_study
from tests.test_dashboard import Served
from tests.test_hostile_inputs import one_line_error

READERS = ["status", "select", "report", "profile", "dashboard"]


def reader_args(verb: str, study: Path, snapshot: Path, out: Path) -> list[str]:
    """The verb's command line on ``study``; ``snapshot``: the real snapshot's folder (its
    trials/ and the finalists select chose), ``out``: where the verb may write."""
    return {
        "status": ["status", "--study", str(study)],
        "select": ["select", "--study", str(study), "--out", str(out)],
        "report": [
            *("report", "--study", str(study), "--out", str(out)),
            *("--finalists", str(snapshot / "select" / "finalists.yaml")),
        ],
        "profile": [
            *("profile", "--study", str(study), "--trials", str(snapshot / "trials")),
            *("--out", str(out), "--max-models", "1", "--rounds", "20"),
        ],
        "dashboard": ["dashboard", "--study", str(study), "--port", "0"],
    }[verb]


def files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and its SHA-256: a new ``-wal``, ``-shm`` or ``-journal``
    beside a study shows, as does a changed byte."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def foreign(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE people (name TEXT)")
    connection.execute("INSERT INTO people VALUES ('ann')")
    connection.commit()
    connection.close()


def theirs(path: Path) -> None:
    """Someone else's Optuna study: Optuna's tables, no objectives this product knows."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="theirs", storage=f"sqlite:///{path}")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)


# (case, file name, how to make it, what the line must hold)
BAD_FILES = [
    (
        "1a: a foreign SQLite file",
        "foreign.db",
        foreign,
        ["foreign.db: a SQLite database but not an Optuna study", "(its tables: people)"],
    ),
    ("1b: an empty file", "empty.db", lambda p: p.write_bytes(b""), ["empty.db: an empty file"]),
    (
        "1c: a text file",
        "notes.txt",
        lambda p: p.write_text("my notes\n"),
        ["notes.txt: not a SQLite database (it starts with b'my notes\\n'"],
    ),
    (
        "1d: someone else's Optuna study",
        "theirs.db",
        theirs,
        ["theirs.db: not a paretonas study: study theirs: no objective names recorded"],
    ),
]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Path:
    """A snapshot as the search stage leaves it: ``study.db`` (one study, in WAL mode like the
    live study it was copied from, no ``-wal`` beside it), ``trials/<n>/model.yaml``, and the
    finalists select chose from it (for report)."""
    folder = tmp_path_factory.mktemp("snapshot")
    make_study(folder / "study.db")
    connection = sqlite3.connect(folder / "study.db")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    for number in range(9):
        (folder / "trials" / str(number)).mkdir(parents=True)
        shutil.copy(MODELS_DIR / "lenet_28.yaml", folder / "trials" / str(number) / "model.yaml")
    result = paretonas("select", "--study", str(folder / "study.db"), "--out", str(folder / "x"))
    assert result.returncode == 0, result.stderr
    shutil.move(folder / "x", folder / "select")
    return folder


@pytest.mark.parametrize("verb", READERS)
@pytest.mark.parametrize(
    ("case", "name", "make", "needles"), BAD_FILES, ids=[c[0] for c in BAD_FILES]
)
def test_a_reader_refuses_a_file_that_is_not_a_study_and_writes_nothing(
    tmp_path, snapshot, verb, case, name, make, needles
):
    folder = tmp_path / "theirs"
    folder.mkdir()
    make(folder / name)
    before = files(folder)
    out = tmp_path / "out"
    result = paretonas(*reader_args(verb, folder / name, snapshot, out))
    one_line_error(result, verb, *needles)
    assert files(folder) == before  # not a byte, no table, no -wal/-shm/-journal
    assert not out.exists()


@pytest.mark.parametrize(
    "verb",
    [*READERS[:3], *(pytest.param(v, marks=pytest.mark.slow) for v in READERS[3:])],
)
def test_a_reader_leaves_a_real_snapshot_as_it_was(tmp_path, snapshot, verb):
    """The verb works on the snapshot, and the snapshot is the same bytes after (WAL mode, yet
    no ``-wal`` or ``-shm`` appears: nobody has it open, so it is read immutable)."""
    before = files(snapshot)
    args = reader_args(verb, snapshot / "study.db", snapshot, tmp_path / "out")
    if verb == "dashboard":
        served = Served(tmp_path / "stderr", *args[1:-2])
        assert b"<html" in served.get(served.page).lower()
        served.stop(signal.SIGINT)
    else:
        result = paretonas(*args)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    assert files(snapshot) == before


def test_status_on_a_live_study_writes_nothing_beyond_its_wal(tmp_path):
    """A live study (its ``-wal`` beside it, a worker's) is read through the WAL: the trials
    committed there show, and the database file is not changed."""
    path = tmp_path / "study.db"
    make_study(path)
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # what the worker wrote stays in the -wal
    writer.execute("UPDATE trials SET number = number")
    writer.commit()
    assert (tmp_path / "study.db-wal").exists()
    main = hashlib.sha256(path.read_bytes()).hexdigest()
    result = paretonas("status", "--study", str(path))
    writer.close()
    assert result.returncode == 0, result.stderr
    assert "made" in result.stdout
    assert hashlib.sha256(path.read_bytes()).hexdigest() == main


def test_status_leaves_a_rollback_journal_study_in_its_mode(tmp_path):
    """A study file not in WAL mode (Optuna's own default) is read as it is: its header is not
    switched to WAL, nor any file made beside it."""
    make_study(tmp_path / "study.db")
    before = files(tmp_path)
    result = paretonas("status", "--study", str(tmp_path / "study.db"))
    assert result.returncode == 0, result.stderr
    assert files(tmp_path) == before


@pytest.mark.slow  # a PostgreSQL server
def test_status_on_an_empty_postgres_database_creates_no_table(tmp_path, fresh_database):
    """1e: a study.json naming a PostgreSQL database that holds no study: one line, the password
    masked, and the database still has no table (Optuna's would be created on open)."""
    import sqlalchemy

    from paretonas.search.study import new_record, write_record

    env = {"PARETONAS_STORAGE": fresh_database}
    payload = {"objectives": [["f1", "maximize"], ["params", "minimize"]]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARETONAS_STORAGE", fresh_database)
        record = new_record(tmp_path / "study.json", payload, "sqlite")
    write_record(record, tmp_path / "study.json")
    result = paretonas("status", "--study", str(tmp_path / "study.json"), env=env)
    line = one_line_error(result, "status", "study.json: study 'paretonas-", "cannot open")
    password = sqlalchemy.engine.make_url(fresh_database).password
    assert not password or password not in line
    engine = sqlalchemy.create_engine(fresh_database)
    try:
        assert sqlalchemy.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


# finalize's budget flags: (case, flags, what the line must hold)
BUDGETS = [
    ("2a: --steps 0", ["--steps", "0"], ["--steps: expected a whole number >= 1, got 0"]),
    ("2b: --steps -5", ["--steps", "-5"], ["--steps: expected a whole number >= 1, got -5"]),
    ("2c: --epochs 0", ["--epochs", "0"], ["--epochs: expected a whole number >= 1, got 0"]),
]


@pytest.mark.parametrize(("case", "flags", "needles"), BUDGETS, ids=[c[0] for c in BUDGETS])
def test_finalize_refuses_a_budget_below_one(tmp_path, snapshot, case, flags, needles):
    out = tmp_path / "out"
    trial = snapshot / "trials" / "0"
    result = paretonas(
        "finalize", "--trial", str(trial), "--data", str(tmp_path), "--out", str(out), *flags
    )
    one_line_error(result, "finalize", *needles)
    assert not out.exists()


def test_profile_refuses_rounds_below_twenty(tmp_path, snapshot):
    out = tmp_path / "out"
    args = reader_args("profile", snapshot / "study.db", snapshot, out)
    result = paretonas(*args[:-1], "5")
    one_line_error(result, "profile", "--rounds: expected a whole number >= 20, got 5")
    assert not out.exists()


@pytest.fixture(scope="module")
def archived_trial(tmp_path_factory, digits_dir):
    """One trial archived by a real search: ``trials/0/`` with model.yaml (a Conv with a ReLU
    first), hparams.yaml and metrics.json."""
    tmp = tmp_path_factory.mktemp("archive")
    config = search_config(tmp, fast_space(tmp), n_trials=1)
    report = run_search(config, digits_dir)
    return tmp / "results" / "search" / report["study"] / "trials" / "0"


def edit(file: str, old: str, new: str):
    def apply(trial: Path) -> None:
        text = (trial / file).read_text()
        assert old in text, text
        (trial / file).write_text(text.replace(old, new, 1))

    return apply


# (case, the edit, what the line must hold)
TAMPERED = [
    (
        "3a: a stride added (same parameters, fewer MACs)",
        edit("model.yaml", "activation: ReLU", "stride: 2, activation: ReLU"),
        ["trial 0: ", "/model.yaml: MACs ", " but the archive recorded ", "(edited after the"],
    ),
    (
        "3b: an activation changed (same parameters and MACs)",
        edit("model.yaml", "activation: ReLU", "activation: SiLU"),
        ["trial 0: ", "/model.yaml: config hash ", "same parameters and MACs, another network"],
    ),
    (
        "3c: the learning rate changed",
        edit("hparams.yaml", "\nlr: ", "\nlr: 0.5 #"),
        ["trial 0: ", "/hparams.yaml: lr 0.5 but the archive recorded 0.0"],
    ),
    (
        "3d: an augmentation field changed",
        edit("hparams.yaml", "cutout: 0", "cutout: 4"),
        ["trial 0: ", "/hparams.yaml: augment.cutout 4 but the archive recorded 0"],
    ),
]


@pytest.mark.slow  # a real search archives the trial
@pytest.mark.parametrize(("case", "tamper", "needles"), TAMPERED, ids=[c[0] for c in TAMPERED])
def test_finalize_refuses_an_archive_edited_after_the_search(
    tmp_path, archived_trial, digits_dir, case, tamper, needles
):
    trial = tmp_path / "trials" / "0"
    shutil.copytree(archived_trial, trial)
    tamper(trial)
    out = tmp_path / "out"
    result = paretonas(
        "finalize", "--trial", str(trial), "--data", str(digits_dir), "--out", str(out)
    )
    one_line_error(result, "finalize", str(trial), *needles)
    assert not out.exists()


@pytest.mark.slow  # a real search archives the trial
def test_finalize_checks_the_archive_against_the_study_beside_it(tmp_path, archived_trial):
    """3e: model.yaml edited and metrics.json's hash made to match it: the study beside the
    trials/ folder still holds the searched hash, and it is not written while read."""
    study = tmp_path / "study"
    shutil.copytree(archived_trial.parent.parent, study)
    trial = study / "trials" / "0"
    edit("model.yaml", "activation: ReLU", "activation: SiLU")(trial)
    spec, hparams, metrics = load_trial(trial)
    metrics["config_hash"] = config_hash(spec.to_yaml(), hparams)
    (trial / "metrics.json").write_text(json.dumps(metrics))
    live = {"study.db-shm"}  # the live WAL's shared-memory index: every reader maintains it
    before = {k: v for k, v in files(study).items() if k not in live}
    out = tmp_path / "out"
    result = paretonas(
        "finalize", "--trial", str(trial), "--data", str(tmp_path), "--out", str(out)
    )
    one_line_error(
        result,
        "finalize",
        f"trial 0: {trial}: model.yaml and hparams.yaml hash to {metrics['config_hash']} but the "
        f"study {study / 'study.db'} recorded ",
        "for trial 0 (edited after the search?)",
    )
    assert {k: v for k, v in files(study).items() if k not in live} == before
    assert not out.exists()
