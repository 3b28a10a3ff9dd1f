"""Fleet runner: schedules an engine function over chunks of series; knows nothing about forecasting.

Local mode is a small supervisor over ``spawn``-context worker processes (spawn, because dbt-duckdb runs
Python models inside the dbt process; the workers import the installed ``python_engines`` package):

- the parent hands each idle worker one chunk at a time (load balancing; chunks are small for Prophet);
- a worker reports ``start`` before and ``done`` after each unit (one series, or one chunk for engines
  that vectorise over a chunk), so the parent always knows what is running where and since when;
- a unit gets ``time_limit`` seconds per series: the worker interrupts itself (SIGALRM) and records the
  series as failed; if even that does not come back within a grace period (a hang in C code, a crash),
  the parent kills the worker, records the unit as failed, requeues the rest of its chunk and starts a
  replacement. One series can never stall or stop the fleet;
- BLAS/OpenMP/XGBoost threads are pinned to 1 per worker (no oversubscription);
- progress (done, rate, ETA) is logged every ``progress_seconds``.

Dask mode (``scheduler`` = a ``tcp://`` address) submits the same chunk function to the cluster, one task
per chunk; results are identical because engines are deterministic functions of their inputs. A killed
worker's chunks are rerun elsewhere (see ``run_dask``).
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from python_engines.forecasting.output import SeriesForecast, failed
from python_engines.forecasting.series import Series
from python_engines.forecasting.windows import ForecastWindows

log = logging.getLogger(__name__)

EngineFunction = Callable[[Sequence[Series], ForecastWindows, Any], list[SeriesForecast]]

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "POLARS_MAX_THREADS",
)


def default_workers() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


@dataclass(frozen=True)
class EngineTask:
    """Everything a worker needs to run one engine pass; sent once to each worker."""

    model: str
    function: EngineFunction  # a module-level function of the installed package (picklable)
    windows: ForecastWindows
    params: Any
    per_series: bool = True  # False: the function vectorises over a whole chunk
    time_limit: float = 300.0  # seconds per series


@dataclass(frozen=True)
class FleetOptions:
    workers: int = field(default_factory=default_workers)
    chunk_size: int = 20
    scheduler: str | None = None  # Dask scheduler address; None = local processes
    grace_seconds: float = 30.0
    progress_seconds: float = 15.0
    connect_seconds: float = 20.0  # Dask: to reach the scheduler, and again for a first worker
    dask_resubmits: int = 3  # Dask: resubmissions of a chunk lost to anything but its own crashes
    dask_chunks_per_thread: int = 3  # Dask: chunks in flight per worker thread (the rest wait in this process)


@dataclass
class FleetPass:
    """Results of one pass in input order, and how long it took."""

    results: list[SeriesForecast]
    wall_seconds: float
    workers: int
    backend: str


class SeriesTimeoutError(Exception):
    """Raised inside a worker when a unit exceeds its time limit."""


def chunked(series: Sequence[Series], size: int) -> list[list[Series]]:
    return [list(series[i : i + size]) for i in range(0, len(series), max(size, 1))]


def run_unit(task: EngineTask, unit: Sequence[Series]) -> list[SeriesForecast]:
    """Call the engine on ``unit``; any exception becomes a failed row per series (never propagates)."""
    try:
        return task.function(unit, task.windows, task.params)
    except SeriesTimeoutError:
        limit = task.time_limit * len(unit)
        return [failed(s.host_id, s.resource, task.model, f"time limit of {limit:g} s exceeded", limit) for s in unit]
    except Exception as exc:
        return [failed(s.host_id, s.resource, task.model, f"{type(exc).__name__}: {exc}") for s in unit]


def units_of(task: EngineTask, chunk: Sequence[Series]) -> list[list[Series]]:
    return [[s] for s in chunk] if task.per_series else [list(chunk)]


def run_chunk(chunk: Sequence[Series], task: EngineTask) -> list[SeriesForecast]:
    """A whole chunk, unit by unit, failures isolated (what a Dask task runs)."""
    return [result for unit in units_of(task, chunk) for result in run_unit(task, unit)]


# --------------------------------------------------------------------------------------------- workers


def _on_alarm(signum: int, frame: object) -> None:
    raise SeriesTimeoutError()


def _worker_main(worker_id: int, task: EngineTask, inbox: Any, outbox: Any) -> None:
    """Worker process loop: run chunks received on ``inbox`` until ``None``; report each unit on ``outbox``.

    Both are pipe ends: a send is written before the next line runs, so a report survives a crash that
    follows it (a multiprocessing.Queue would still hold it in a feeder thread).
    """
    from python_engines.dbt_process import die_with_parent

    die_with_parent()  # a worker never outlives its dbt (e.g. when a killed CLI takes dbt with it)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    outbox.send(("ready", None, None))
    while True:
        message = inbox.recv()
        if message is None:
            return
        chunk_id, chunk = message
        for unit in units_of(task, chunk):
            signal.setitimer(signal.ITIMER_REAL, task.time_limit * len(unit))
            try:
                results = run_unit(task, unit)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            outbox.send(("done", chunk_id, results))
        outbox.send(("idle", chunk_id, None))


@contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Children inherit the environment at spawn: start them with one BLAS/OpenMP thread each."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class _Worker:
    process: Any
    inbox: Any  # parent's sending end
    outbox: Any  # parent's receiving end
    ready: bool = False
    chunk_id: int | None = None
    last_progress: float = 0.0  # when it got its chunk or last reported a unit


class _Progress:
    def __init__(self, model: str, total: int, every: float) -> None:
        self.model, self.total, self.every = model, total, every
        self.started = self.last = time.monotonic()

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        log.info(
            "%s: %d/%d series (%.0f%%), %.1f series/s, elapsed %.0f s, ETA %.0f s",
            self.model,
            done,
            self.total,
            100.0 * done / max(self.total, 1),
            rate,
            elapsed,
            eta,
        )


def run_local(task: EngineTask, series: Sequence[Series], options: FleetOptions) -> FleetPass:
    """Run ``task`` over ``series`` on a supervised spawn-context process pool.

    A worker works through its chunk in order and reports every unit, so when it dies or stops answering,
    the first unreported series of its chunk is the one it was on: that unit is recorded as failed and the
    rest of the chunk is requeued on a fresh worker. Every retirement fails at least one series, so the
    fleet always finishes.
    """
    import multiprocessing
    from multiprocessing import connection

    started = time.perf_counter()
    if not series:
        return FleetPass([], 0.0, 0, "local")
    chunks = chunked(series, options.chunk_size)
    workers_wanted = max(1, min(options.workers, len(chunks)))
    context = multiprocessing.get_context("spawn")
    pending: deque[tuple[int, list[Series]]] = deque(enumerate(chunks))
    remaining: dict[int, list[Series]] = dict(enumerate(chunks))
    results: dict[tuple[str, str], SeriesForecast] = {}
    progress = _Progress(task.model, len(series), options.progress_seconds)
    workers: dict[int, _Worker] = {}
    next_id = 0

    def start_worker() -> None:
        nonlocal next_id
        inbox_read, inbox_write = context.Pipe(duplex=False)
        outbox_read, outbox_write = context.Pipe(duplex=False)
        with _single_threaded_children():
            process = context.Process(
                target=_worker_main,
                args=(next_id, task, inbox_read, outbox_write),
                name=f"{task.model}-worker-{next_id}",
            )
            process.daemon = True
            process.start()
        inbox_read.close()
        outbox_write.close()
        workers[next_id] = _Worker(process, inbox_write, outbox_read)
        next_id += 1

    def handle(worker: _Worker, message: tuple[str, int | None, Any]) -> None:
        kind, chunk_id, payload = message
        worker.last_progress = time.monotonic()
        if kind == "ready":
            worker.ready = True
        elif kind == "done":
            for result in payload:
                results[(result.host_id, result.resource)] = result
            remaining[chunk_id] = [s for s in remaining.get(chunk_id, []) if s.key not in results]
        elif kind == "idle":
            remaining.pop(chunk_id, None)
            worker.chunk_id = None

    def receive(worker: _Worker) -> None:
        """Everything the worker has reported so far (nothing more once it is gone)."""
        try:
            while worker.outbox.poll():
                handle(worker, worker.outbox.recv())
        except (EOFError, OSError):
            pass

    def unit_size(worker: _Worker) -> int:
        return 1 if task.per_series else max(len(remaining.get(worker.chunk_id, [])), 1)

    def retire(worker_id: int, reason: str) -> None:
        """Kill a stuck or dead worker: its running unit fails, the rest of its chunk is requeued."""
        worker = workers.pop(worker_id)
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        receive(worker)  # whatever it reported before it went, counts
        worker.inbox.close()
        worker.outbox.close()
        left = remaining.pop(worker.chunk_id, []) if worker.chunk_id is not None else []
        culprits, rest = (left[:1], left[1:]) if task.per_series else (left, [])
        seconds = time.monotonic() - worker.last_progress
        for s in culprits:
            results[s.key] = failed(s.host_id, s.resource, task.model, reason, seconds)
        if rest:
            pending.appendleft((worker.chunk_id, rest))
            remaining[worker.chunk_id] = rest
        log.warning(
            "%s: worker %d retired (%s) on %s; %d series requeued",
            task.model,
            worker_id,
            reason,
            ", ".join(f"{s.host_id}/{s.resource}" for s in culprits[:3]) or "nothing",
            len(rest),
        )
        start_worker()

    startup_failures = 0
    for _ in range(workers_wanted):
        start_worker()
    try:
        while len(results) < len(series):
            for worker in workers.values():
                if worker.ready and worker.chunk_id is None and pending:
                    worker.chunk_id, chunk = pending.popleft()
                    worker.last_progress = time.monotonic()
                    worker.inbox.send((worker.chunk_id, chunk))
            readable = connection.wait([w.outbox for w in workers.values()], timeout=1.0)
            for worker in list(workers.values()):
                if worker.outbox in readable:
                    receive(worker)
            now = time.monotonic()
            for worker_id, worker in list(workers.items()):
                if worker.chunk_id is None and not worker.process.is_alive():
                    startup_failures += 1  # died without a chunk: it could not even start
                    if startup_failures > 3:
                        raise RuntimeError(f"{task.model}: worker processes keep dying at startup")
                    workers.pop(worker_id)
                    start_worker()
                if worker.chunk_id is None:
                    continue  # idle or still starting up: no clock running
                limit = task.time_limit * unit_size(worker) + options.grace_seconds
                if not worker.process.is_alive():
                    retire(worker_id, f"worker process died (exit code {worker.process.exitcode})")
                elif now - worker.last_progress > limit:
                    retire(worker_id, f"no answer within {limit:g} s (time limit + grace); worker killed")
            progress.update(len(results))
    finally:
        for worker in workers.values():
            with suppress(OSError):
                worker.inbox.send(None)
        for worker in workers.values():
            worker.process.join(10)
            if worker.process.is_alive():
                worker.process.kill()
    progress.update(len(results), force=True)
    ordered = [results[s.key] for s in series]
    return FleetPass(ordered, time.perf_counter() - started, workers_wanted, "local")


class DaskClusterError(RuntimeError):
    """The Dask cluster cannot run the fleet (unreachable, no workers, lost): a one-line cause and fix."""


def _unreachable(address: str, cause: str) -> str:
    return (
        f"cannot reach the Dask scheduler at {address} ({cause}): start it with `dask scheduler` and workers "
        f"with `dask worker {address} --nthreads 1`, or unset the dask_scheduler var to run on this machine's "
        "processes"
    )


def dask_scheduler_problem(address: str, timeout: float = 5.0) -> str | None:
    """A one-line reason why nothing answers at the scheduler ``address`` (a TCP connect), or None.

    Cheap enough to run before a dbt build, so that a wrong address fails in seconds with one line instead
    of minutes later inside dbt's Python model traceback.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        # http://host:8787 is the scheduler's dashboard: it answers a TCP connect, then dbt failed inside.
        return (
            f"dask_scheduler {address!r} is not a scheduler address: use tcp://host:8786 (or tls://), "
            "the address `dask scheduler` prints, not its dashboard's http:// one"
        )
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        return f"dask_scheduler {address!r} is not an address like tcp://host:8786"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return _unreachable(address, exc.strerror or type(exc).__name__)


def _same(value: Any) -> Any:
    return value


def _connect(address: str, options: FleetOptions) -> Any:
    """A client on ``address`` with at least one worker, or a one-line DaskClusterError saying what to do."""
    from distributed import Client

    try:
        client = Client(address, timeout=options.connect_seconds, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskClusterError(_unreachable(address, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")) from None
    try:
        client.wait_for_workers(1, timeout=options.connect_seconds)
    except (OSError, TimeoutError):
        client.close()
        raise DaskClusterError(
            f"the Dask scheduler at {address} has no workers after {options.connect_seconds:g} s: "
            f"start some with `dask worker {address} --nthreads 1`"
        ) from None
    return client


def _killed_unit_results(task: EngineTask, unit: list[Series], workers: int) -> list[SeriesForecast]:
    reason = f"worker process died each time it ran this ({workers} Dask workers over two submissions); see their logs"
    log.warning("%s: %s: %s", task.model, ", ".join(f"{s.host_id}/{s.resource}" for s in unit[:3]), reason)
    return [failed(s.host_id, s.resource, task.model, reason) for s in unit]


class _Window:
    """How many chunks to keep in flight: ``per_thread`` per worker thread, the count refreshed every 10 s
    (workers may join or leave during a run)."""

    def __init__(self, client: Any, per_thread: int) -> None:
        self.client, self.per_thread = client, per_thread
        self.checked, self.threads = 0.0, 1

    def size(self) -> int:
        now = time.monotonic()
        if now - self.checked > 10.0:
            self.checked = now
            self.threads = max(sum(self.client.nthreads().values()), 1)
        return max(self.per_thread * self.threads, 2)


def run_dask(task: EngineTask, series: Sequence[Series], options: FleetOptions) -> FleetPass:
    """The same chunks on a Dask cluster at ``options.scheduler``; results in input order.

    Worker death: Dask reschedules the tasks a lost worker was running (or holding results of) on the
    surviving workers, as long as each task has killed at most ``distributed.scheduler.allowed-failures``
    (default 3) workers. A chunk past that limit comes back as ``KilledWorker``: its series are
    resubmitted one task each, and a series is recorded as failed only when it comes back ``KilledWorker``
    on its own twice (Dask also blames the tasks merely queued on a dying worker, hence the second chance).
    That mirrors the local pool, where the series a dead worker was on fails and the rest of its chunk is
    requeued; an engine that vectorises over a chunk (XGBoost) gets the second chance as a whole chunk.
    Any other infrastructure error of a chunk (lost before its result was gathered, cancelled by a
    scheduler restart) is resubmitted up to ``dask_resubmits`` times and then raised. No series is ever
    silently dropped: the pass only returns when every series has a result.

    The task (engine function, windows, parameters such as XGBoost's boosters) goes to the cluster once,
    as a task of its own rather than scattered data: if every worker holding it dies, Dask recomputes it
    from the graph instead of losing it. Chunks are submitted as results come back, ``dask_chunks_per_thread``
    per worker thread at a time, so the scheduler never holds the whole fleet's series.

    Per-series time limits here are the engines' own (Stan runs with a timeout); Dask runs tasks in
    worker threads, where SIGALRM is not available.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    started = time.perf_counter()
    address = str(options.scheduler)
    if not series:
        return FleetPass([], 0.0, 0, f"dask {address}")
    progress = _Progress(task.model, len(series), options.progress_seconds)
    results: dict[tuple[str, str], SeriesForecast] = {}
    with _connect(address, options) as client:
        workers_at_start = len(client.nthreads())
        log.info(
            "%s: %d series on the Dask cluster at %s (%d workers)", task.model, len(series), address, workers_at_start
        )
        shared = client.submit(_same, task, pure=False, key=f"engine-task-{task.model}-{uuid.uuid4().hex}")
        units: dict[str, tuple[list[Series], int]] = {}  # in flight: future key -> (its series, resubmissions)
        waiting: deque[tuple[list[Series], int]] = deque((chunk, 0) for chunk in chunked(series, options.chunk_size))
        queue = as_completed(loop=client.loop)
        window = _Window(client, options.dask_chunks_per_thread)

        def submit(unit: list[Series], attempt: int) -> None:
            waiting.appendleft((unit, attempt))  # resubmissions go first

        def top_up() -> None:
            """Keep a few chunks per worker thread in flight, not the whole fleet in the scheduler's memory."""
            while waiting and len(units) < window.size():
                unit, attempt = waiting.popleft()
                future = client.submit(run_chunk, unit, shared, pure=False)
                units[future.key] = (unit, attempt)
                queue.add(future)

        def collect(future: Any) -> None:
            """Record a finished chunk, or decide what to resubmit (see the docstring)."""
            unit, attempt = units.pop(future.key)
            error: BaseException | None = None
            rows: list[SeriesForecast] = []
            if future.status == "finished":
                try:
                    rows = future.result()
                except Exception as exc:  # lost between finishing and gathering
                    error = exc
            elif future.status == "error":
                error = future.exception()
            future.release()
            if error is None and rows:
                for row in rows:
                    results[(row.host_id, row.resource)] = row
                progress.update(len(results))
            elif isinstance(error, KilledWorker):
                if task.per_series and len(unit) > 1:
                    log.warning(
                        "%s: a chunk of %d series killed workers; resubmitting its series one by one",
                        task.model,
                        len(unit),
                    )
                    for s in reversed(unit):
                        submit([s], 0)
                elif attempt == 0:  # Dask blames every task queued on a dying worker: give an innocent a second chance
                    log.warning("%s: %d series killed workers; resubmitting once more", task.model, len(unit))
                    submit(unit, 1)
                else:
                    for row in _killed_unit_results(task, unit, 2 * (error.allowed_failures + 1)):
                        results[(row.host_id, row.resource)] = row
            elif attempt >= options.dask_resubmits:
                raise DaskClusterError(
                    f"{task.model}: a chunk of {len(unit)} series failed {attempt + 1} times on the Dask cluster "
                    f"at {address} ({future.status}: {error}); check the scheduler and worker logs"
                )
            else:
                log.warning("%s: chunk of %d series %s (%s); resubmitting", task.model, len(unit), future.status, error)
                submit(unit, attempt + 1)

        top_up()
        for future in queue:
            collect(future)
            top_up()
        workers = len(client.nthreads())
    if workers != workers_at_start:
        log.warning(
            "%s: the Dask cluster went from %d to %d workers during the run", task.model, workers_at_start, workers
        )
    progress.update(len(results), force=True)
    ordered = [results[s.key] for s in series]
    return FleetPass(ordered, time.perf_counter() - started, workers, f"dask {address}")


def run_fleet(task: EngineTask, series: Sequence[Series], options: FleetOptions) -> FleetPass:
    runner = run_dask if options.scheduler else run_local
    return runner(task, series, options)
