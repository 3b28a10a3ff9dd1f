"""The engines on a real Dask cluster started the way users start one: `dask scheduler` and `dask worker`.

The scheduler and two workers (one process, one thread each) run as separate command-line processes on this
machine, each in its own process group so that teardown (and the killed-worker test) can end a whole worker
with its nanny. The workers import ``python_engines`` and this module through PYTHONPATH (in CI the package is
installed in the venv anyway); the fake engine below is module-level so that they can unpickle it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from support import PROJECT_ROOT, horizonscale
from test_engines import WINDOWS, synthetic
from test_fleet import misbehaving_engine, tiny

from python_engines.dbt_process import _child_setup
from python_engines.forecasting.dbt_bridge import run_engine_model
from python_engines.forecasting.fleet import DaskClusterError, EngineTask, FleetOptions, run_dask, run_local
from python_engines.forecasting.output import STATUS_FAILED, STATUS_OK, Band, SeriesForecast, forecast_table
from python_engines.forecasting.series import Series
from python_engines.forecasting.windows import ForecastWindows
from python_engines.forecasting.xgboost_engine import XGBoostParams, XGBoostSettings, train_global, xgboost_chunk
from python_engines.paths import ProjectPaths

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)

DASK = Path(sys.executable).with_name("dask")


@dataclass(frozen=True)
class SlowParams:
    seconds_per_series: float
    marker_dir: str | None  # each series touches <host>.<worker pid> here when it starts


def slow_engine(chunk: Sequence[Series], windows: ForecastWindows, params: SlowParams) -> list[SeriesForecast]:
    """Forecasts a series' mean, after a pause: a deterministic stand-in slow enough to kill a worker under."""
    results = []
    for s in chunk:
        if params.marker_dir:
            Path(params.marker_dir, f"{s.host_id}.{os.getpid()}").touch()
        time.sleep(params.seconds_per_series)
        level = np.full(windows.backtest_days, float(np.mean(s.y)))
        ahead = np.full(windows.horizon_days, float(np.mean(s.y)))
        results.append(
            SeriesForecast(
                s.host_id,
                s.resource,
                "slow",
                STATUS_OK,
                backtest=Band.bounded(level, level - 1, level + 1),
                forecast=Band.bounded(ahead, ahead - 1, ahead + 1),
            )
        )
    return results


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """End a process and everything in its group (a `dask worker` is a nanny plus its worker process)."""
    for attempt in (sig, signal.SIGKILL):
        try:
            os.killpg(process.pid, attempt)
        except ProcessLookupError:
            process.poll()  # already gone: reap it
            break
        try:
            process.wait(10)
            break
        except subprocess.TimeoutExpired:
            continue


@dataclass
class CliCluster:
    """`dask scheduler` + `dask worker` processes on 127.0.0.1; logs in ``logs``."""

    logs: Path
    port: int = field(default_factory=_free_port)
    scheduler: subprocess.Popen | None = None
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
        python_path = os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "tests" / "python"), *inherited])
        env = {**os.environ, "PYTHONPATH": python_path}
        with (self.logs / f"{name}.log").open("w") as log:
            return subprocess.Popen(
                [str(DASK), *args],
                cwd=self.logs,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg ends the nanny and its worker together
                preexec_fn=_child_setup(os.getpid()),  # and it dies with pytest, even a killed one
            )

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"
        )

    def start_worker(self, name: str) -> None:
        self.workers[name] = self._spawn(
            name,
            "worker",
            self.address,
            "--name",
            name,
            "--nworkers",
            "1",
            "--nthreads",
            "1",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            "--local-directory",
            str(self.logs / name),
            "--death-timeout",
            "30",  # a worker whose scheduler is gone exits
        )

    def wait_for_workers(self, count: int, timeout: float = 60.0) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=timeout)

    def worker_pids(self) -> dict[str, int]:
        """Name of each `dask worker` command -> pid of the worker process doing the work (the nanny's child)."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            pids = client.run(os.getpid).values()
        return {name: pid for name, process in self.workers.items() for pid in pids if os.getpgid(pid) == process.pid}

    def import_everywhere(self, module: str) -> None:
        """Import ``module`` on every worker now, so that the first task of a timed run does not pay for it."""
        import importlib

        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.run(importlib.import_module, module)

    def close(self) -> None:
        for process in self.workers.values():
            _stop(process)
        if self.scheduler is not None:
            _stop(self.scheduler)

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(self.logs.glob("*.log")))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCluster]:
    assert DASK.exists(), f"{DASK} missing: dask[distributed] is a dependency in pyproject.toml"
    cluster = CliCluster(tmp_path_factory.mktemp("dask_cluster"))
    try:
        cluster.start_scheduler()
        for name in ("w0", "w1"):
            cluster.start_worker(name)
        try:
            cluster.wait_for_workers(2)
        except Exception:
            pytest.fail(f"the CLI cluster did not come up:\n{cluster.log_tail()}")
        yield cluster
    finally:
        cluster.close()


def _table(results: list[SeriesForecast]):
    return forecast_table(results, WINDOWS)


def test_xgboost_gives_the_local_pools_forecasts_on_a_cli_cluster(cluster: CliCluster) -> None:
    # The global mode: the boosters trained in this process travel to the workers inside the task.
    series = [synthetic(f"d{i}", seed=20 + i, slope_per_year=2.0 * i) for i in range(3)] + [tiny("short")]
    settings = XGBoostSettings(n_estimators=40, learning_rate=0.2, max_train_rows=20_000, nthread=1)
    boosters = train_global(series, WINDOWS, [WINDOWS.train_end, WINDOWS.history_end], settings, 1)
    task = EngineTask("xgboost", xgboost_chunk, WINDOWS, XGBoostParams(settings, boosters), per_series=False)
    local = run_local(task, series, FleetOptions(workers=2, chunk_size=2))
    on_dask = run_dask(task, series, FleetOptions(scheduler=cluster.address, chunk_size=2))
    assert [r.status for r in on_dask.results] == [STATUS_OK] * 3 + ["insufficient_history"]
    assert _table(local.results).equals(_table(on_dask.results))
    assert (on_dask.backend, on_dask.workers) == (f"dask {cluster.address}", 2)


def _warehouse(path: Path, series: Sequence[Series]) -> duckdb.DuckDBPyConnection:
    """A DuckDB file with ``processed_data`` (the engines' input columns) and ``forecast_windows``."""
    frame = pl.concat(
        pl.DataFrame({"host_id": s.host_id, "resource": s.resource, "ds": s.ds, "y": s.y, "is_imputed": s.is_imputed})
        for s in series
    )
    windows = pl.DataFrame({name: [getattr(WINDOWS, name)] for name in WINDOWS.__dataclass_fields__})
    con = duckdb.connect(str(path))
    con.register("frame_view", frame)
    con.register("windows_view", windows)
    con.execute("create table processed_data as select * from frame_view")
    con.execute("create table forecast_windows as select * from windows_view")
    return con


def test_prophet_model_through_the_dbt_bridge_on_a_cli_cluster(cluster: CliCluster, tmp_path: Path) -> None:
    # What models/forecasting/prophet_forecasts.py runs with --vars '{dask_scheduler: ...}' (calibration,
    # then forecasts, then the lake files), from real DuckDB relations; a full `dbt build` of the refinery
    # first would cost minutes, and dbt only passes the var through.
    series = [synthetic(f"b{i}", seed=40 + i, slope_per_year=3.0 * i) for i in range(3)] + [tiny("short")]
    con = _warehouse(tmp_path / "warehouse.duckdb", series)
    tables = {}
    try:
        for name, scheduler in (("local", None), ("dask", cluster.address)):
            configs = {
                "lake_dir": str(tmp_path / name),
                "forecast_workers": 2,
                "dask_scheduler": scheduler,
                "calibration_series": 3,
            }
            tables[name] = run_engine_model(
                "prophet", con.table("processed_data"), con.table("forecast_windows"), configs
            )
    finally:
        con.close()
    assert tables["dask"].num_rows > 0 and tables["dask"].equals(tables["local"])
    timings = pq.read_table(tmp_path / "dask" / "forecasts" / "prophet_timings.parquet").to_pylist()
    assert {(t["phase"], t["backend"], t["workers"]) for t in timings} == {
        (phase, f"dask {cluster.address}", 2) for phase in ("calibrate", "forecast")
    }
    runs = pq.read_table(tmp_path / "dask" / "forecasts" / "prophet_runs.parquet").to_pylist()
    assert sorted(r["status"] for r in runs) == ["insufficient_history"] + [STATUS_OK] * 3


def test_a_failing_series_fails_alone_on_a_cli_cluster(cluster: CliCluster) -> None:
    series = [tiny("ok1"), tiny("raises"), tiny("ok2")]
    task = EngineTask("fake", misbehaving_engine, WINDOWS, None)
    results = run_dask(task, series, FleetOptions(scheduler=cluster.address, chunk_size=2)).results
    assert [r.status for r in results] == [STATUS_OK, STATUS_FAILED, STATUS_OK]
    assert "ValueError: bad input" in results[1].error


def test_an_unreachable_scheduler_is_one_line_naming_it_and_the_fix() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    task = EngineTask("slow", slow_engine, WINDOWS, SlowParams(0.0, None))
    started = time.perf_counter()
    with pytest.raises(DaskClusterError) as error:
        run_dask(task, [synthetic("h")], FleetOptions(scheduler=address, connect_seconds=2.0))
    message = str(error.value)
    assert time.perf_counter() - started < 30
    assert "\n" not in message
    assert address in message and "dask scheduler" in message and "dask_scheduler" in message


def test_a_build_with_an_unreachable_scheduler_stops_in_seconds_with_one_line(small_fleet: ProjectPaths) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    result = horizonscale("build", "--vars", f"{{dask_scheduler: '{address}'}}", data_dir=small_fleet.data_dir)
    assert result.returncode == 2, result.stderr[-3000:]
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"horizonscale: error: cannot reach the Dask scheduler at {address}")
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_a_dashboard_address_or_a_typo_costs_nothing(tmp_path: Path) -> None:
    """http://host:8787 (the scheduler's dashboard) answered the TCP check, then failed inside dbt; `run` with an
    unreachable scheduler purged the warehouse (generate) before it checked."""
    from python_engines.forecasting.fleet import dask_scheduler_problem

    problem = dask_scheduler_problem("http://127.0.0.1:8787")
    assert problem is not None and "not a scheduler address: use tcp://host:8786" in problem
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect(str(data / "horizonscale.duckdb")) as con:
        con.execute("create table kept as select 1 as x")
    address = f"tcp://127.0.0.1:{_free_port()}"
    result = horizonscale("run", "--hosts", "2", "--vars", f"{{dask_scheduler: '{address}'}}", data_dir=data)
    assert result.returncode == 2 and "cannot reach the Dask scheduler" in result.stderr
    with duckdb.connect(str(data / "horizonscale.duckdb"), read_only=True) as con:
        assert con.execute("select x from kept").fetchall() == [(1,)]


def test_a_worker_killed_mid_run_loses_no_series(cluster: CliCluster, tmp_path: Path) -> None:
    series = [synthetic(f"k{i:02d}", seed=i) for i in range(40)]
    markers = tmp_path / "markers"
    markers.mkdir()
    task = EngineTask("slow", slow_engine, WINDOWS, SlowParams(0.1, str(markers)))
    expected = run_local(replace(task, params=SlowParams(0.0, None)), series, FleetOptions(workers=1, chunk_size=20))
    cluster.import_everywhere(slow_engine.__module__)  # a fresh worker takes seconds to import it, under load
    victim = "w1"
    pid = cluster.worker_pids()[victim]
    killed_at: list[float] = []
    run_over = threading.Event()

    def kill_when_busy() -> None:
        while len(list(markers.glob(f"*.{pid}"))) < 2:
            if run_over.wait(0.02):
                return  # never busy during the run: the assertion below says so
        _stop(cluster.workers[victim], signal.SIGKILL)  # the whole `dask worker` command: nanny and worker
        killed_at.append(time.monotonic())

    killer = threading.Thread(target=kill_when_busy)
    started = time.monotonic()
    killer.start()
    try:
        on_dask = run_dask(task, series, FleetOptions(scheduler=cluster.address, chunk_size=2))
        finished = time.monotonic()
    finally:
        run_over.set()
        killer.join()
    try:
        assert killed_at and started < killed_at[0] < finished, "the worker was not killed mid-run"
        assert [r.host_id for r in on_dask.results] == [s.host_id for s in series]
        assert all(r.status == STATUS_OK for r in on_dask.results)
        assert _table(on_dask.results).equals(_table(expected.results))
        assert on_dask.workers == 1
        pids_by_host: dict[str, set[str]] = {}
        for marker in markers.iterdir():
            host, worker_pid = marker.name.split(".")
            pids_by_host.setdefault(host, set()).add(worker_pid)
        victims_work = {h for h, pids in pids_by_host.items() if str(pid) in pids}
        rerun = {h for h, pids in pids_by_host.items() if len(pids) > 1}
        assert rerun, "no series the killed worker had started was rerun elsewhere"
        assert rerun <= victims_work
        logging.getLogger(__name__).info(
            "killed %s after %.1f s of a %.1f s run; %d series started there, %d rerun on the survivor",
            victim,
            killed_at[0] - started,
            finished - started,
            len(victims_work),
            len(rerun),
        )
    finally:
        cluster.start_worker(victim)  # a test added after this one gets its two workers back
