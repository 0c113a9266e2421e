"""GET /metrics under `DIGITS_WORKERS=2`: a real `digits-serve` with two worker processes.

Each worker counts what it serves; a scrape is answered by whichever worker takes the
connection, and must still show every worker's requests (prometheus-client's multiprocess
mode, with the folder digits-serve prepares). The server runs once for the module (the tests
that read what it did are marked slow); the last tests check how the folder is prepared.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from live_server import running_server, server_env
from prometheus_samples import value

from app.cli import MULTIPROC_DIR_VARIABLE, prepare_metrics_dir
from app.settings import Settings

SERVE = Path(sys.executable).parent / "digits-serve"
CLIENTS = 16
PREDICTIONS = 24
SCRAPES = 8
BOTH_WORKERS_DEADLINE_REQUESTS = 2000
A_ONE = [[1.0 if 12 <= column <= 15 and 4 <= row <= 23 else 0.0 for column in range(28)]
         for row in range(28)]
STALE_FILE = "counter_999999.db"


@dataclass(frozen=True)
class TwoWorkerRun:
    stale_file_left_at_start: bool
    pids_that_counted: set[str]
    model_requests: int
    predictions: int
    scrapes: list[str]
    files_after_stop: list[str]


def _pids(folder: Path, kind: str) -> set[str]:
    """The worker pids that have a `kind` file (counter, histogram…) in the folder."""
    pattern = re.compile(rf"{kind}_(\d+)\.db$")
    return {match.group(1) for f in folder.iterdir() if (match := pattern.match(f.name))}


def _concurrently(count: int, request: Callable[[], httpx.Response]) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(lambda _: request().status_code, range(count)))
    assert statuses == [200] * count


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> TwoWorkerRun:
    folder = tmp_path_factory.mktemp("prometheus")  # as an operator would set it
    (folder / STALE_FILE).write_bytes(b"values counted by a run that ended")
    env = server_env(workers=2)
    env[MULTIPROC_DIR_VARIABLE] = str(folder)
    with running_server(command=lambda port: [str(SERVE), "--port", str(port)], env=env) as server:
        stale_left = (folder / STALE_FILE).exists()
        url = f"{server.url}/models/digits-0-1"
        # Each request on a new connection, 16 at once: either worker may take it. Go on until
        # both have counted something (the second may still be loading TensorFlow at first).
        sent = 0
        while len(_pids(folder, "counter")) < 2 and sent < BOTH_WORKERS_DEADLINE_REQUESTS:
            _concurrently(CLIENTS, lambda: httpx.get(url, timeout=30))
            sent += CLIENTS
        _concurrently(
            PREDICTIONS,
            lambda: httpx.post(f"{server.url}/predict", json={"pixels": A_ONE}, timeout=30),
        )
        scrapes = [httpx.get(f"{server.url}/metrics", timeout=30) for _ in range(SCRAPES)]
        assert all(scrape.status_code == 200 for scrape in scrapes)
        counted_by = _pids(folder, "counter")
    # live_server leaves the stopped server's output pipe open; with warnings as errors its
    # ResourceWarning would fail whichever test runs next.
    for pipe in (server.process.popen.stdout, server.process.popen.stderr):
        if pipe is not None:
            pipe.close()
    return TwoWorkerRun(
        stale_file_left_at_start=stale_left,
        pids_that_counted=counted_by,
        model_requests=sent,
        predictions=PREDICTIONS,
        scrapes=[scrape.text for scrape in scrapes],
        files_after_stop=sorted(f.name for f in folder.iterdir()),
    )


@pytest.mark.slow
def test_an_earlier_runs_values_are_removed_at_start(two_workers: TwoWorkerRun) -> None:
    assert not two_workers.stale_file_left_at_start


@pytest.mark.slow
def test_both_workers_served_requests(two_workers: TwoWorkerRun) -> None:
    assert len(two_workers.pids_that_counted) == 2


@pytest.mark.slow
def test_every_scrape_counts_every_workers_requests(two_workers: TwoWorkerRun) -> None:
    labels = {"method": "GET", "route": "/models/{name}", "status": "200"}
    for text in two_workers.scrapes:
        assert value(text, "digits_http_requests_total", **labels) == two_workers.model_requests
        assert (
            value(text, "digits_http_request_duration_seconds_count", **labels)
            == two_workers.model_requests
        )


@pytest.mark.slow
def test_every_scrape_counts_every_workers_predictions(two_workers: TwoWorkerRun) -> None:
    model = Settings().default_model
    for text in two_workers.scrapes:
        assert value(text, "digits_predictions_total", model=model) == two_workers.predictions


@pytest.mark.slow
def test_the_training_gauge_adds_up_the_live_workers(two_workers: TwoWorkerRun) -> None:
    for text in two_workers.scrapes:
        assert value(text, "digits_training_runs_in_progress") == 0


@pytest.mark.slow
def test_stopped_workers_drop_their_live_gauges(two_workers: TwoWorkerRun) -> None:
    files = two_workers.files_after_stop
    assert not [name for name in files if name.startswith("gauge_live")], files
    # Counters outlive their worker: a restarted worker must not make the totals go down.
    assert {f"counter_{pid}.db" for pid in two_workers.pids_that_counted} <= set(files)


# --- how digits-serve prepares the folder ---------------------------------------------------


def test_without_a_folder_a_fresh_one_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    # Empty counts as unset; setenv (unlike delenv of a variable that is absent) makes
    # monkeypatch restore the variable's absence after the test, whatever the test set.
    monkeypatch.setenv(MULTIPROC_DIR_VARIABLE, "")
    made = prepare_metrics_dir()
    try:
        assert made is not None and made.is_dir() and not any(made.iterdir())
        assert os.environ[MULTIPROC_DIR_VARIABLE] == str(made)  # what the workers inherit
    finally:
        if made is not None:
            made.rmdir()


def test_a_chosen_folder_is_emptied_of_values_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "histogram_12.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("the operator's")
    monkeypatch.setenv(MULTIPROC_DIR_VARIABLE, str(tmp_path))
    assert prepare_metrics_dir() is None  # not ours to remove when the server stops
    assert sorted(f.name for f in tmp_path.iterdir()) == ["notes.txt"]


def test_a_chosen_folder_that_does_not_exist_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MULTIPROC_DIR_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(SystemExit, match=f"{MULTIPROC_DIR_VARIABLE}=.*missing is not a folder"):
        prepare_metrics_dir()
