"""`paretonas dashboard` as a user runs it: optuna-dashboard served on the study's own storage
(SQLite, journal, a snapshot, PostgreSQL), checked over HTTP and, for a real finished search,
rendered in Debian's headless chromium (the dashboard is a JavaScript single-page app, so the
page a person sees exists only after its scripts ran)."""

from __future__ import annotations

import html
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import optuna
import pytest
import yaml
from PIL import Image

from paretonas.cli import main
from paretonas.dashboard import DashboardError, make_dashboard
from paretonas.search.study import create_study, new_record, write_record
from tests.conftest import REPO
from tests.search.conftest import (  # noqa: F401  (digits_dir: the session's prepared digits)
    digits_dir,
    fast_space,
    load,
    run_search,
    search_config,
    study_json,
)
from tests.services._require import require

START_TIMEOUT_S = 120
OBJECTIVES = [("f1", "maximize"), ("params", "minimize"), ("latency_ms", "minimize")]


class Served:
    """`paretonas dashboard ... --port 0` in a subprocess; ``url`` is the study page it printed."""

    def __init__(self, stderr: Path, *args: str, env: dict | None = None) -> None:
        self.stderr = stderr  # a file: a pipe nobody reads while it serves could fill up
        with stderr.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "paretonas", "dashboard", *args, "--port", "0"],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd=REPO,
                env=env,
            )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for_url()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=30)
                raise AssertionError(f"exited {self.proc.returncode}: {self.read_stderr()}")
            self.stdout.append(line)
            if line.startswith("dashboard: http"):
                return line.split()[1]
        self.proc.kill()
        raise AssertionError(f"no URL printed within {START_TIMEOUT_S}s: {self.stdout}")

    @property
    def base(self) -> str:
        return self.url.split("/dashboard/")[0]

    @property
    def page(self) -> str:
        """The study page's path (``/dashboard/studies/<id>``)."""
        return self.url.removeprefix(self.base)

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=60) as response:
            assert response.status == 200, path
            return response.read()

    def stop(self, signum: int = signal.SIGTERM) -> str:
        """SIGTERM (`kill`, a service manager) or SIGINT (Ctrl-C): a clean exit 0. Its stderr."""
        self.proc.send_signal(signum)
        self.proc.wait(timeout=30)
        err = self.read_stderr()
        assert self.proc.returncode == 0, err
        assert "Traceback" not in err
        return err

    def read_stderr(self) -> str:
        return self.stderr.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def serve(tmp_path):
    started: list[Served] = []

    def start(*args: str, env: dict | None = None) -> Served:
        started.append(Served(tmp_path / f"dashboard-{len(started)}.err", *args, env=env))
        return started[-1]

    yield start
    for served in started:
        served.kill()


def small_study(study_json_path: Path, kind: str, n_trials: int = 5) -> str:
    """A study recorded as the search stage records it (study.json, storage ``kind``), with
    ``n_trials`` cheap trials (one of them pruned): the dashboard reads it like any other."""
    record = new_record(study_json_path, {"objectives": OBJECTIVES}, storage=kind)
    study = create_study(record)
    write_record(record, study_json_path)

    def objective(trial: optuna.Trial) -> tuple[float, float, float]:
        width = trial.suggest_int("width", 4, 64)
        if trial.number == 2:
            raise optuna.TrialPruned
        return 0.5 + width / 200, 100.0 * width, 0.01 * width

    study.optimize(objective, n_trials=n_trials)
    return record.name


def api_study(served: Served) -> dict:
    """The study's detail as optuna-dashboard's API serves it to the page."""
    study_id = int(served.url.rstrip("/").rsplit("/", 1)[1])
    return json.loads(served.get(f"/api/studies/{study_id}"))


def test_serves_the_study_then_stops_on_sigterm(tmp_path, serve):
    """A journal study (SQLite's is served in-process below and in a browser, slow tests)."""
    kind = "journal"
    path = tmp_path / "results" / "search" / "study.json"
    name = small_study(path, kind)
    served = serve("--study", str(path))
    assert served.stdout[0].startswith(f"study {name} (5 trials) in ")
    assert served.url.startswith("http://127.0.0.1:")  # localhost by default
    summaries = json.loads(served.get("/api/studies"))["study_summaries"]
    assert [s["study_name"] for s in summaries] == [name]
    detail = api_study(served)
    assert detail["name"] == name and len(detail["trials"]) == 5
    assert [t["state"] for t in detail["trials"]].count("Pruned") == 1
    assert b"<html" in served.get(served.page).lower()  # the app's page
    served.stop(signal.SIGTERM)


@pytest.fixture
def in_process():
    """``make_dashboard`` serving from a thread of this process (a real server, faster to start
    than a subprocess); stopped at the end."""
    started = []

    def start(study: Path, port: int = 0):
        dashboard = make_dashboard(study, port=port)
        thread = threading.Thread(target=dashboard.serve)
        thread.start()
        started.append((dashboard, thread))
        return dashboard

    yield start
    for dashboard, thread in started:
        dashboard.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_read_only(tmp_path, in_process, caplog):
    """The page's delete, rename, create and tell buttons are refused; the study is intact."""
    path = tmp_path / "study.json"
    name = small_study(path, "sqlite", n_trials=3)
    dashboard = in_process(path)
    base, study_id = dashboard.base_url, dashboard.study_id
    for method, api, body in [
        ("DELETE", f"/api/studies/{study_id}", None),
        ("POST", f"/api/studies/{study_id}/rename", {"study_name": "renamed"}),
        ("POST", "/api/studies", {"study_name": "new", "directions": ["minimize"]}),
        ("POST", "/api/trials/1/tell", {"state": "Fail"}),
    ]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(base + api, data=data, method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 403, (method, api)
        assert "read-only" in json.loads(refused.value.read())["reason"]
    with urllib.request.urlopen(f"{base}/api/studies/{study_id}", timeout=60) as response:
        detail = json.loads(response.read())
    assert detail["name"] == name
    assert [t["state"] for t in detail["trials"]] == ["Complete", "Complete", "Pruned"]
    assert f"refused DELETE /api/studies/{study_id}" in caplog.text


def test_snapshot_and_a_taken_port(tmp_path, in_process, capsys):
    name = small_study(tmp_path / "live" / "study.json", "sqlite", n_trials=3)
    snapshot = next((tmp_path / "live").rglob("study.db"))
    dashboard = in_process(snapshot)
    assert dashboard.study_name == name and dashboard.n_trials == 3
    assert main(["dashboard", "--study", str(snapshot), "--port", str(dashboard.port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"paretonas dashboard: error: --host 127.0.0.1 --port {dashboard.port}: cannot listen "
        "there: Address already in use"
    ]


def test_missing_study_is_one_line(tmp_path, capsys):
    missing = tmp_path / "results" / "search" / "study.json"
    assert main(["dashboard", "--study", str(missing), "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"paretonas dashboard: error: {missing}: no such file (run the search stage first)"
    ]
    config = tmp_path / "my.yaml"
    config.write_text(yaml.safe_dump({"results_dir": str(tmp_path / "elsewhere")}))
    assert main(["dashboard", "--configfile", str(config), "--port", "0"]) == 2
    where = tmp_path / "elsewhere" / "search" / "study.json"
    assert capsys.readouterr().err.splitlines() == [
        f"paretonas dashboard: error: {where}: no such file (run the search stage first)"
    ]


@pytest.mark.parametrize("port", [-1, 65536])
def test_port_out_of_range(tmp_path, port):
    with pytest.raises(DashboardError, match=f"--port: expected 0 .* got {port}"):
        make_dashboard(tmp_path / "study.json", port=port)


# --- a real search, in a real browser -------------------------------------------------------


def chromium() -> str:
    """Debian's chromium (`.ci/run` installs it); skip locally, fail in CI, without it."""
    found = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    require("chromium", None if found else "chromium is not installed (apt-get install chromium)")
    return found


def headless(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium, headless, on ``url`` with virtual time for the app's scripts and fetches."""
    result = subprocess.run(
        [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def visible_text(dom: str) -> str:
    """The text a person sees in a rendered DOM (no styles, scripts or tags), spaces collapsed."""
    for pattern in (r"<style[^>]*>.*?</style>", r"<script[^>]*>.*?</script>", r"<[^>]+>"):
        dom = re.sub(pattern, " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(dom))


@pytest.mark.slow
def test_real_search_rendered_in_headless_chromium(
    tmp_path,
    digits_dir,  # noqa: F811  (the fixture imported above)
    serve,
):
    chromium()  # before the search: a missing browser fails (CI) or skips at once
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=4)
    run_search(config, digits_dir)
    study = load(config)
    n_trials = len(study.trials)
    served = serve("--configfile", str(write_config(tmp_path, config)))
    profile = tmp_path / "chromium"
    page = visible_text(headless(served.url, profile, "--dump-dom").stdout)
    assert f"{study.study_name} (id=" in page, page[:2000]  # the study's page, rendered
    assert "Pareto Front" in page and "Objective X: f1" in page, page[:2000]
    trials = visible_text(headless(served.url + "/trials", profile, "--dump-dom").stdout)
    assert f" {n_trials} Trials " in trials, trials[:2000]
    assert all(f"Trial {t.number} " in trials for t in study.trials), trials[:2000]
    assert '"worker": 0' in trials, trials[:4000]  # the search's own record, per trial
    shot = tmp_path / "dashboard.png"
    headless(served.url, profile, f"--screenshot={shot}", "--window-size=1280,900")
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1280, 900)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colors) > 200, len(colors)  # plots and text; a blank or error page has a few
    served.stop(signal.SIGINT)  # Ctrl-C


def write_config(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_postgres_study_served_without_its_password(
    fresh_database,
    tmp_path,
    digits_dir,  # noqa: F811  (the fixture imported above)
    serve,
    monkeypatch,
):
    monkeypatch.setenv("PARETONAS_STORAGE", fresh_database)  # what the user exports
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=2)
    run_search(config, digits_dir)
    served = serve("--study", str(study_json(config)), env=dict(os.environ))
    out = "".join(served.stdout)
    assert "postgresql://optuna:***@127.0.0.1" in out
    detail = api_study(served)
    assert detail["name"] == json.loads(study_json(config).read_text())["name"]
    assert len(detail["trials"]) >= 2
    err = served.stop()
    assert "optuna-secret" not in out + err
