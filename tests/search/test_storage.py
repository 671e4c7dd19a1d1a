from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from paretonas.errors import ConfigError, redact
from paretonas.search.loop import _count_in_database, count_states
from paretonas.search.storage import open_storage, resolve_storage


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://optuna:s3cret@127.0.0.1:5433/db",
            "postgresql://optuna:***@127.0.0.1:5433/db",
        ),
        ("postgresql+psycopg2://u:p@h/db", "postgresql+psycopg2://u:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///results/study.db", "sqlite:///results/study.db"),
    ],
)
def test_redact(url, expected):
    assert redact(url) == expected


def test_default_sqlite_and_journal(tmp_path, monkeypatch):
    monkeypatch.delenv("PARETONAS_STORAGE", raising=False)
    info = resolve_storage("sqlite", tmp_path / "s")
    assert info.url == f"sqlite:///{tmp_path / 's' / 'study.db'}" and info.heartbeat
    journal = resolve_storage("journal", tmp_path / "s")
    assert journal.kind == "journal" and not journal.heartbeat
    for each in (info, journal):
        open_storage(each)  # creates what it needs
    assert (tmp_path / "s" / "study.db").exists()


def test_env_var_wins_and_is_redacted(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_STORE", f"sqlite:///{tmp_path}/x.db")
    assert resolve_storage("journal", tmp_path, "MY_STORE").kind == "sqlite"
    monkeypatch.setenv("MY_STORE", "mysql://u:pw@h/db")
    with pytest.raises(ConfigError) as info:
        resolve_storage("sqlite", tmp_path, "MY_STORE")
    assert "$MY_STORE" in str(info.value) and "pw" not in str(info.value)


MOUNTS = """\
/dev/vda / ext4 rw 0 0
server:/export /shared nfs4 rw 0 0
tmpfs /shared/local tmpfs rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/work/results", "ext4"), ("/shared/run/results", "nfs4"), ("/shared/local/x", "tmpfs")],
)
def test_filesystem_type(path, kind):
    from paretonas.search.storage import filesystem_type

    assert filesystem_type(Path(path), MOUNTS) == kind


def test_sqlite_on_a_network_filesystem_is_refused(monkeypatch):
    from paretonas.search.storage import refuse_network_filesystem

    with pytest.raises(ConfigError, match="network filesystem"):
        refuse_network_filesystem(Path("/shared/run/results"), MOUNTS)
    refuse_network_filesystem(Path("/work/results"), MOUNTS)  # local: fine
    monkeypatch.setenv("PARETONAS_ALLOW_NETWORK_SQLITE", "1")
    refuse_network_filesystem(Path("/shared/run/results"), MOUNTS)  # explicitly allowed


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_count_states_matches_the_trials(tmp_path, kind):
    """The worker loop counts by one SQL query on RDB storages; it must agree with Optuna."""
    info = resolve_storage(kind, tmp_path, "PARETONAS_TEST_UNSET")
    study = optuna.create_study(storage=open_storage(info), directions=["maximize", "minimize"])
    study.optimize(lambda t: (t.suggest_float("a", 0, 1), 1.0), n_trials=3)
    study.tell(study.ask(), state=optuna.trial.TrialState.PRUNED)
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    study.enqueue_trial({"a": 0.5})
    study.ask()  # left running
    study.enqueue_trial({"a": 0.25})  # left waiting
    expected = {state.name.lower(): 0 for state in optuna.trial.TrialState}
    for trial in study.get_trials(deepcopy=False):
        expected[trial.state.name.lower()] += 1
    assert expected == {"complete": 3, "pruned": 1, "fail": 1, "running": 1, "waiting": 1}
    assert count_states(study) == expected
    assert (_count_in_database(study) is None) == (kind == "journal")
