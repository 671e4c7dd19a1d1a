"""Hostile inputs, round 3: config values the schema let through, a storage variable holding
something else, the GPU profile, and stopping Snakemake. Each case runs as a user runs it: the
`paretonas` console script, or real `snakemake` in a copy of the project; a refusal is one
line naming the key and the value (exit 2 for the CLI, one WorkflowError for Snakemake), with
nothing written and no traceback."""

from __future__ import annotations

import glob
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from optuna.trial import TrialState

from paretonas.search import attrs
from paretonas.search.study import open_study
from tests.conftest import REPO, paretonas
from tests.search.conftest import fast_space
from tests.services.slurm import plugin_path
from tests.test_hostile_inputs import one_line_error
from tests.workflow.conftest import Project, make_project

# (case, config, the verb that reads it, what the line must contain). `status` only reads, so
# a check that regressed could not write at "/"; `prepare-data` writes under results_dir.
CONFIG_CASES = [
    ("4: results_dir empty", {"results_dir": ""}, "status", ["results_dir: '' is empty"]),
    (
        "4: results_dir /",
        {"results_dir": "/"},
        "status",
        ["results_dir: '/' is the filesystem root", "would write data/, search/"],
    ),
    (
        "4: results_dir .",
        {"results_dir": "."},
        "status",
        ["results_dir: '.' is the working directory"],
    ),
    (
        "4: results_dir .. (above the project)",
        {"results_dir": ".."},
        "status",
        ["results_dir: '..' is ", "above the working directory"],
    ),
    (
        "4: results_dir with braces",
        {"results_dir": "out/{run}"},
        "status",
        ["results_dir: 'out/{run}': braces are Snakemake wildcards"],
    ),
    (
        "4: results_dir is a file",
        {"results_dir": "config/config.yaml"},
        "prepare-data",
        ["results_dir: 'config/config.yaml' is a file, not a folder"],
    ),
    (
        "4: results_dir cannot be made",
        {"results_dir": "/proc/paretonas-results"},
        "prepare-data",
        ["results_dir: '/proc/paretonas-results' cannot be made", "in /proc ("],
    ),
    (
        "5: storage_env is a value, not a name",
        {"search": {"storage_env": "postgresql://u:s3cret-pw@h/db"}},
        "status",
        [
            "search.storage_env: expected the name of an environment variable",
            "its value is not shown (it may be a secret)",
        ],
    ),
    (
        "5: a URL in another key is redacted",
        {"search": {"storage": "postgresql://u:s3cret-pw@h/db"}},
        "status",
        ["search.storage: 'postgresql://u:***@h/db' is not one of ['sqlite', 'journal']"],
    ),
    (
        "6: select.k 1000",
        {"select": {"k": 1000}},
        "status",
        ["select.k: 1000 is greater than the maximum of 20", "each slot is a finalize job"],
    ),
    (
        "6: an objective twice",
        {
            "search": {
                "objectives": [
                    {"name": "f1", "direction": "maximize"},
                    {"name": "params", "direction": "minimize"},
                    {"name": "f1", "direction": "maximize"},
                ]
            }
        },
        "status",
        ["search.objectives.2.name: 'f1' is already search.objectives.0"],
    ),
    (
        "6: heartbeat_interval = grace_period",
        {"search": {"heartbeat_interval": 30, "grace_period": 30}},
        "status",
        ["search.heartbeat_interval: 30 is not below search.grace_period (30)"],
    ),
    (
        "6: heartbeat_interval > grace_period",
        {"search": {"heartbeat_interval": 60}},
        "status",
        ["search.heartbeat_interval: 60 is not below search.grace_period (30)"],
    ),
]
IDS = [c[0] for c in CONFIG_CASES]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    """One copy of the project for the dry runs (a dry run writes no result)."""
    return make_project(tmp_path_factory.mktemp("dry"))


@pytest.mark.parametrize(("case", "config", "verb", "needles"), CONFIG_CASES, ids=IDS)
def test_the_cli_refuses_in_one_line(project, case, config, verb, needles):
    path = project.root / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = paretonas(verb, "--config", "bad.yaml", cwd=project.root)
    one_line_error(result, verb, "bad.yaml: ", *needles)
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert not project.path("results").exists()


@pytest.mark.parametrize(("case", "config", "verb", "needles"), CONFIG_CASES, ids=IDS)
def test_snakemake_refuses_in_one_workflow_error(project, case, config, verb, needles):
    path = project.root / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = project.snakemake("-n", "--configfile", "bad.yaml", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    errors = [line for line in output.splitlines() if "bad.yaml: " in line]
    assert len(errors) == 1 and output.count("WorkflowError") == 1, output
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    assert "Traceback" not in output and "Job stats" not in output  # nothing was planned
    assert "s3cret-pw" not in output
    assert not project.path("results").exists()


def test_an_absolute_writable_results_dir_is_planned_there(project, tmp_path):
    """Legitimate: an absolute path (or one outside the project) to a folder that can be
    made; the dry run plans every output under it."""
    out = tmp_path / "elsewhere" / "results"
    (project.root / "good.yaml").write_text(yaml.safe_dump({"results_dir": str(out) + "/"}))
    result = project.snakemake("-n", "--configfile", "good.yaml")
    assert f"{out}/data/manifest.json" in result.stdout
    assert f"{out}//" not in result.stdout  # the trailing slash is normalized away
    assert not out.parent.exists()


SECRET = "ghp_s3cretT0ken"
# (case, the variable's value, what the line must contain): $MY_API_TOKEN is search.storage_env
STORAGE_CASES = [
    (
        "5: an API token",
        SECRET,
        [
            "$MY_API_TOKEN: expected a postgresql:// or sqlite:/// URL, got a value that is no "
            "storage URL (not shown)"
        ],
    ),
    (
        "5: a web address with a key in it",
        f"https://hooks.example.com/services/{SECRET}",
        ["$MY_API_TOKEN: ", "got a value that is no storage URL (not shown)"],
    ),
    (
        "5: another database's URL, redacted",
        f"mysql://optuna:{SECRET}@db-host/optuna",
        ["$MY_API_TOKEN: ", "got 'mysql://optuna:***@db-host/optuna'"],
    ),
    (
        "5: a password as a query parameter",
        f"postgresql://optuna@127.0.0.1:1/optuna?password={SECRET}",
        ["postgresql://optuna@127.0.0.1:1/optuna?password=***", "cannot open"],
    ),
]


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    from paretonas.config import default_config
    from paretonas.data import prepare_data

    out = tmp_path_factory.mktemp("digits") / "data"
    prepare_data(default_config(), out)
    return out


@pytest.mark.parametrize(
    ("case", "value", "needles"), STORAGE_CASES, ids=[c[0] for c in STORAGE_CASES]
)
def test_a_storage_variable_is_never_printed_unless_a_url(tmp_path, digits, case, value, needles):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"search": {"storage_env": "MY_API_TOKEN"}}))
    out = tmp_path / "search" / "study.json"
    result = paretonas(
        "search-study", "--config", str(config), "--data", str(digits), "--out", str(out),
        env={"MY_API_TOKEN": value},
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]  # (before it, a retry's INFO line, if any)
    assert line.startswith("paretonas search-study: error: "), result.stderr
    for needle in needles:
        assert needle in line, (needle, line)
    assert SECRET not in result.stdout + result.stderr, line
    assert not out.exists()


def test_case_3_a_large_seed_completes_trials(tmp_path, digits):
    """seed 20261202: the schema takes it, so the workers must (the per-worker sampler seeds
    are derived into numpy's 32-bit range)."""
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "seed": 20261202,
                "results_dir": str(tmp_path / "results"),
                "search": {"space": str(fast_space(tmp_path, epochs=1)), "n_trials": 2,
                           "workers": 2, "n_startup_trials": 1},
            }
        )
    )  # fmt: skip
    study = tmp_path / "results" / "search" / "study.json"
    started = paretonas("search-study", "--config", str(config), "--data", str(digits),
                        "--out", str(study))  # fmt: skip
    assert started.returncode == 0, started.stderr
    for worker in ("0", "1"):  # one after the other: the second finds the study done
        run = paretonas("search-worker", "--config", str(config), "--study", str(study),
                        "--data", str(digits), "--worker-id", worker)  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Traceback" not in run.stderr
    status = paretonas("status", "--config", str(config))
    assert "trials    2/2 done" in status.stdout, status.stdout + status.stderr
    assert " 0 failed" in status.stdout


def test_case_2_the_gpu_profile_asks_for_gpus_the_way_the_plugin_takes_them():
    """The SLURM plugin refuses --gres/--gpus in slurm_extra; the profile asks through its
    `gpu` resource. With the plugin at hand, its own checks run on the profile's values."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm-gpu" / "config.yaml").read_text())
    resources = profile["set-resources"]
    for rule in ("search_worker", "finalize"):
        assert resources[rule]["gpu"] == 1, rule
    for rule, values in resources.items():
        extra = values.get("slurm_extra", "")
        assert "--gres" not in extra and "--gpus" not in extra, (rule, extra)
    folder = plugin_path()
    if folder is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed (make test installs it)")
    check = (
        "import sys, types, yaml\n"
        "from snakemake_executor_plugin_slurm.utils import set_gres_string\n"
        "from snakemake_executor_plugin_slurm.validation import validate_slurm_extra\n"
        "class Resources(dict):\n"
        "    __getattr__ = dict.get\n"
        "profile = yaml.safe_load(open(sys.argv[1]))\n"
        "for rule, values in profile['set-resources'].items():\n"
        "    job = types.SimpleNamespace(resources=Resources(values))\n"
        "    validate_slurm_extra(job)\n"
        "    print(rule, set_gres_string(job).strip() or '-')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [folder, str(REPO / "src")]))}
    result = subprocess.run(
        [sys.executable, "-c", check, str(REPO / "profiles" / "slurm-gpu" / "config.yaml")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = set(result.stdout.splitlines())
    assert {"search_worker --gpus=1", "finalize --gpus=1", "profile -"} <= lines, result.stdout


def running_trials(root: Path) -> int:
    """RUNNING trials in the project's study (0 before it exists)."""
    for path in glob.glob(str(root / "results" / "search" / "paretonas-*" / "study.db")):
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
                query = "SELECT COUNT(*) FROM trials WHERE state = 'RUNNING'"
                return db.execute(query).fetchone()[0]
        except sqlite3.Error:
            return 0
    return 0


def _processes(root: Path) -> list:
    """Live processes (psutil) whose command line holds the project's path: its jobs."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(root) in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


def processes_of(root: Path) -> list[str]:
    """Process ids and command lines of the project's live processes."""
    return [f"{p.pid} {' '.join(p.info['cmdline'])}" for p in _processes(root)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "timeout",
    [
        ["timeout", "--foreground"],  # SIGTERM to Snakemake's process alone (as `kill PID`)
        ["timeout"],  # SIGTERM to the whole process group: the jobs get it twice
    ],
    ids=["to snakemake alone", "to the process group"],
)
def test_case_1_sigterm_to_snakemake_stops_its_workers(tmp_path, timeout):
    """`timeout -s TERM N snakemake --cores 2` on a search that would last long beyond N: its
    SIGTERM is sent (to `timeout`, which passes it on as when its time runs out) once trials
    run. Snakemake ends within seconds, no process of the project is left 10 s later, and the
    study holds no RUNNING trial: each interrupted one is FAIL (terminated) and re-queued."""
    project = make_project(tmp_path)
    project.set_config(search={"n_trials": 500, "workers": 2}, pruning={"mode": "off"})
    command = [*timeout, "-s", "TERM", "3600", "snakemake", "--cores", "2"]
    process = subprocess.Popen(
        command, cwd=project.root, env=project.env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while running_trials(project.root) < 1:
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "no trial started"
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)  # as `timeout` itself does when its time runs out
        output, _ = process.communicate(timeout=120)  # not minutes: the workers stop too
        assert process.returncode != 0
        deadline = time.monotonic() + 10
        while processes_of(project.root) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert processes_of(project.root) == [], output[-3000:]
    finally:  # whatever failed, no worker of this test is left running
        if process.poll() is None:
            process.kill()
        for job in _processes(project.root):
            job.kill()
    # a worker in a trial ends it and says so; one still starting stops where it is
    ends = [log.read_text() for log in (project.root / "results/logs/search_worker").glob("*")]
    assert any("stopped before the study was done (terminated)" in text for text in ends), ends
    assert all("Traceback" not in text for text in ends), ends
    assert all(  # an empty log: a job the signal reached before its Python step started
        "(terminated); re-run to continue" in text
        or "interrupted (SIGTERM); nothing half-written was left" in text
        for text in ends
        if text
    ), ends
    study = open_study(project.root / "results" / "search" / "study.json")
    states = [t.state for t in study.trials]
    assert TrialState.RUNNING not in states, states
    stopped = [t for t in study.trials if attrs.get(t, attrs.FAIL_REASON) == "terminated"]
    requeued = [t for t in study.trials if t.state == TrialState.WAITING]
    assert stopped and len(requeued) == len(stopped), states
    status = paretonas("status", cwd=project.root)
    assert "; 0 running, " in status.stdout, status.stdout + status.stderr
