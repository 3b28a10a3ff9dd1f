"""Keeping a series' backtest from the engine's previous run when nothing it was made from has changed.

A build that keeps the last build's tournament (``forecast_windows.is_tournament_kept``, var
``tournament_max_age_days``) asks every engine for the same backtest as before: same training cut, same days.
For Prophet that is one of the two fits of every series. Each run stores, beside its forecasts in the lake,
a key per series (``<engine>_backtest_keys.parquet``): a hash of everything the backtest was made from,

- the run: the engine, the windows' ``history_start``, ``train_end``, ``backtest_start`` and ``backtest_end``,
  the engine's settings, its calibrated interval quantiles, the source of ``python_engines.forecasting`` and
  the Prophet version;
- the series: its days, values and imputed flags up to ``train_end``.

The next run computes the same key; a series whose key matches gets its stored backtest rows back (run log
detail ``backtest=kept``) and only its production forecast is fitted; any other series (new, or a late row or
correction before ``train_end``) is backtested again. A change of code, settings or data never matches, so a
kept backtest is the one a fresh run with those windows would make (``tests/python/test_backtest_reuse.py``).

XGBoost keeps its backtests the same way; its run key also holds the global booster of the backtest cut,
which predicts every series' backtest. Its boosters are kept by a key of their own (``<engine>_boosters.parquet``:
the code, the settings, the dates and every training series' history up to the booster's cut). The production
booster is trained at the tournament's day (``backtest_end``), so a kept tournament keeps all three and
forecasts each new day's data with them; a series whose last day was missing then (carried forward, and
interpolated once the next day arrives) does not stop it, as no training row reads that imputed tail.
Each engine's interval calibration is kept too (``<engine>_quantiles.parquet``, by :func:`calibration_key`):
its windows end at ``train_end``, which a kept tournament does not move.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from python_engines.forecasting.intervals import HorizonQuantiles
from python_engines.forecasting.output import STATUS_OK, Band, SeriesForecast, write_atomically
from python_engines.forecasting.series import Series
from python_engines.forecasting.windows import ForecastWindows

SeriesKey = tuple[str, str]

KEYS_SCHEMA = pa.schema([("host_id", pa.string()), ("resource", pa.string()), ("backtest_key", pa.string())])


def keys_path(stem: Path) -> Path:
    """Where an engine run writes its per-series backtest keys, beside ``<stem>.parquet``."""
    return stem.with_name(f"{stem.name}_backtest_keys.parquet")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the forecasting package's source and the Prophet version: a new release never reuses."""
    digest = hashlib.sha1()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    try:
        digest.update(metadata.version("prophet").encode())
    except metadata.PackageNotFoundError:
        digest.update(b"no prophet")
    return digest.hexdigest()


def run_key(
    engine: str, windows: ForecastWindows, settings: object, quantiles: HorizonQuantiles | None, extra: bytes = b""
) -> str:
    """What every backtest of one engine run shares (see the module docstring); ``extra``: anything else the
    engine's backtests are made from (XGBoost: the global booster of the backtest cut)."""
    digest = hashlib.sha1(f"{engine}|{code_fingerprint()}|{settings!r}".encode())
    digest.update(extra)
    for day in (windows.history_start, windows.train_end, windows.backtest_start, windows.backtest_end):
        digest.update(day.isoformat().encode())
    if quantiles is not None:
        digest.update(np.ascontiguousarray(quantiles.lower, dtype=np.float64).tobytes())
        digest.update(np.ascontiguousarray(quantiles.upper, dtype=np.float64).tobytes())
        digest.update(f"{quantiles.width!r}|{quantiles.series}".encode())
    return digest.hexdigest()


def series_key(run: str, series: Series, last_day: np.datetime64, imputed_tail: bool = True) -> str:
    """The run key and the series' history up to ``last_day``: its days, values and imputed flags (what its
    backtest was fitted on when ``last_day`` is ``train_end``). ``imputed_tail`` False leaves out the values
    after its last observation: they are carried forward until the next observation arrives and then
    interpolated towards it (so the day after a build changes them), and no global booster's training row reads
    them (:meth:`.xgboost_engine.Panel.build`, :func:`booster_keys`)."""
    keep = series.ds <= last_day
    values = np.ascontiguousarray(series.y[keep], dtype=np.float64)
    observed = series.observed()[keep]
    if not imputed_tail and observed.any():
        values = values[: int(np.flatnonzero(observed)[-1]) + 1]
    digest = hashlib.sha1(f"{run}|{series.host_id}|{series.resource}".encode())
    digest.update(series.ds[keep].astype("datetime64[D]").astype(np.int64).tobytes())
    digest.update(values.tobytes())
    digest.update(np.ascontiguousarray(series.is_imputed[keep], dtype=bool).tobytes())
    return digest.hexdigest()


def _read_keys(path: Path) -> dict[SeriesKey, str]:
    frame = pl.read_parquet(path)
    return {(h, r): k for h, r, k in frame.select("host_id", "resource", "backtest_key").iter_rows()}


def stored_bands(forecasts: Path, wanted: Sequence[SeriesKey], windows: ForecastWindows) -> dict[SeriesKey, Band]:
    """The stored backtest band of each ``wanted`` series that has every day of the backtest window."""
    if not wanted:
        return {}
    hosts, resources = zip(*wanted, strict=True)
    keys = pa.table({"host_id": list(hosts), "resource": list(resources)})
    days = windows.backtest_dates()
    with duckdb.connect() as con:
        con.register("wanted_keys", keys)
        frame = con.sql(
            "select f.host_id, f.resource, f.ds, f.yhat, f.yhat_lower, f.yhat_upper"
            " from read_parquet(?) as f"
            " inner join wanted_keys as w on f.host_id = w.host_id and f.resource = w.resource"
            " where f.segment = 'backtest' and f.ds between ? and ?"
            " order by f.host_id, f.resource, f.ds",
            params=[str(forecasts), windows.backtest_start, windows.backtest_end],
        ).pl()
    if frame.is_empty():
        return {}
    complete = (
        frame.group_by("host_id", "resource", maintain_order=True)
        .agg(pl.len().alias("rows"))
        .filter(pl.col("rows") == days.size)
    )
    frame = frame.join(complete.select("host_id", "resource"), on=["host_id", "resource"], how="semi")
    values = {name: frame[name].to_numpy().reshape(-1, days.size) for name in ("yhat", "yhat_lower", "yhat_upper")}
    return {
        (host, resource): Band(values["yhat"][i].copy(), values["yhat_lower"][i].copy(), values["yhat_upper"][i].copy())
        for i, (host, resource) in enumerate(complete.select("host_id", "resource").iter_rows())
    }


@dataclass
class BacktestReuse:
    """One engine run's use of its previous run's backtests: :meth:`plan` a chunk before it runs (the series
    whose backtest is kept), :meth:`finish` its results (kept bands put back, every ok series' key recorded)."""

    run: str
    windows: ForecastWindows
    stored_keys: dict[SeriesKey, str] = field(default_factory=dict)
    stored_forecasts: Path | None = None
    kept: int = 0
    _keys: dict[SeriesKey, str] = field(default_factory=dict)
    _bands: dict[SeriesKey, Band] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        engine: str,
        windows: ForecastWindows,
        settings: object,
        quantiles: HorizonQuantiles | None,
        stem: Path | None,
        extra: bytes = b"",
    ) -> BacktestReuse:
        """Open the previous run's keys and forecasts at ``stem`` (the lake file stem; None: reuse nothing)."""
        reuse = cls(run_key(engine, windows, settings, quantiles, extra), windows)
        if stem is not None and keys_path(stem).exists() and stem.with_suffix(".parquet").exists():
            reuse.stored_keys, reuse.stored_forecasts = _read_keys(keys_path(stem)), stem.with_suffix(".parquet")
        return reuse

    def plan(self, chunk: Sequence[Series]) -> frozenset[SeriesKey]:
        """Key every series of ``chunk``; returns those whose stored backtest is kept (not to be fitted)."""
        train_end = np.datetime64(self.windows.train_end, "D")
        self._keys = {s.key: series_key(self.run, s, train_end) for s in chunk}
        matching = [key for key, value in self._keys.items() if self.stored_keys.get(key) == value]
        if matching and self.stored_forecasts is not None:
            self._bands = stored_bands(self.stored_forecasts, matching, self.windows)
        else:
            self._bands = {}
        return frozenset(self._bands)

    def finish(self, results: Sequence[SeriesForecast]) -> None:
        """Put the kept backtests into ``results`` and record the key of every ok series."""
        for result in results:
            key = (result.host_id, result.resource)
            if result.status != STATUS_OK:
                continue
            if key in self._bands and result.backtest is None:
                result.backtest = self._bands[key]
                result.detail = {**result.detail, "backtest": "kept"}
                self.kept += 1
            result.backtest_key = self._keys.get(key)
        self._keys, self._bands = {}, {}


def boosters_path(stem: Path) -> Path:
    """Where a global-mode engine run stores its trained boosters by key, beside ``<stem>.parquet``."""
    return stem.with_name(f"{stem.name}_boosters.parquet")


def booster_keys(
    training: Sequence[Series], windows: ForecastWindows, cuts: Sequence[date], settings: object
) -> dict[date, str]:
    """What the global booster of each cut is made from: the code, the settings, the dates and every training
    series' history up to the cut (or ``train_end``, which decides eligibility, when later), less the values
    of its imputed tail (:func:`series_key`). Each history is hashed once per distinct last day (the
    calibration and backtest cuts share ``train_end``)."""
    last_day = {cut: max(cut, windows.train_end) for cut in cuts}
    histories = {
        last: "".join(series_key("", s, np.datetime64(last, "D"), imputed_tail=False) for s in training)
        for last in set(last_day.values())
    }
    keys = {}
    for cut in cuts:
        digest = hashlib.sha1(f"{code_fingerprint()}|{settings!r}|{cut}|{windows.history_start}".encode())
        digest.update(f"{windows.train_end}|{windows.backtest_days}|{windows.horizon_days}".encode())
        digest.update(histories[last_day[cut]].encode())
        keys[cut] = digest.hexdigest()
    return keys


def keep_boosters(
    stem: Path | None,
    training: Sequence[Series],
    windows: ForecastWindows,
    cuts: Sequence[date],
    settings: object,
    train: Callable[[Sequence[date]], dict[date, bytes]],
) -> tuple[dict[date, bytes], int]:
    """The boosters for ``cuts``: those whose key the last run stored are kept, the rest trained by ``train``
    (given the cuts to train); the store then holds this run's boosters. Returns (boosters, number kept)."""
    keys = booster_keys(training, windows, cuts, settings)
    stored: dict[str, bytes] = {}
    if stem is not None and boosters_path(stem).exists():
        frame = pl.read_parquet(boosters_path(stem))
        stored = dict(zip(frame["key"].to_list(), frame["booster"].to_list(), strict=True))
    missing = [cut for cut in cuts if keys[cut] not in stored]
    boosters = train(missing) if missing else {}
    boosters.update({cut: stored[keys[cut]] for cut in cuts if cut not in missing})
    if stem is not None and len(boosters) == len(cuts):
        table = pa.table(
            {"key": [keys[cut] for cut in cuts], "booster": [boosters[cut] for cut in cuts]},
            schema=pa.schema([("key", pa.string()), ("booster", pa.binary())]),
        )
        write_atomically(table, boosters_path(stem))
    return boosters, len(cuts) - len(missing)


def quantiles_path(stem: Path) -> Path:
    """Where an engine run stores its calibrated interval quantiles by key, beside ``<stem>.parquet``."""
    return stem.with_name(f"{stem.name}_quantiles.parquet")


def calibration_key(
    engine: str, windows: ForecastWindows, settings: object, width: float, sample: Sequence[Series], extra: bytes = b""
) -> str:
    """What an engine's interval calibration is made from: the code, the settings, the level, the calibration
    run's windows (``windows``), every sample series' history up to that run's last day and ``extra`` (XGBoost:
    the calibration booster). A kept tournament keeps all of these, so its calibration is the last run's."""
    digest = hashlib.sha1(f"{engine}|{code_fingerprint()}|{settings!r}|{width!r}|{len(sample)}".encode())
    days = (windows.history_start, windows.train_end, windows.backtest_start, windows.backtest_end, windows.history_end)
    for day in days:
        digest.update(day.isoformat().encode())
    last = np.datetime64(windows.history_end, "D")
    for s in sample:
        digest.update(series_key("", s, last).encode())
    digest.update(extra)
    return digest.hexdigest()


def stored_quantiles(stem: Path | None, key: str) -> HorizonQuantiles | None:
    """The quantiles the last run stored under ``key`` (None: no store, or another key)."""
    if stem is None or not quantiles_path(stem).exists():
        return None
    frame = pl.read_parquet(quantiles_path(stem))
    if frame.height != 1 or frame["key"][0] != key:
        return None
    row = frame.row(0, named=True)
    return HorizonQuantiles(
        lower=np.asarray(row["lower"], dtype=np.float64),
        upper=np.asarray(row["upper"], dtype=np.float64),
        width=float(row["width"]),
        series=int(row["series"]),
    )


def store_quantiles(stem: Path | None, key: str, quantiles: HorizonQuantiles | None) -> None:
    """Keep this run's quantiles for the next (nothing to keep when calibration produced none)."""
    if stem is None:
        return
    if quantiles is None:
        quantiles_path(stem).unlink(missing_ok=True)
        return
    table = pa.table(
        {
            "key": [key],
            "lower": [quantiles.lower.tolist()],
            "upper": [quantiles.upper.tolist()],
            "width": [quantiles.width],
            "series": [quantiles.series],
        },
        schema=pa.schema(
            [
                ("key", pa.string()),
                ("lower", pa.list_(pa.float64())),
                ("upper", pa.list_(pa.float64())),
                ("width", pa.float64()),
                ("series", pa.int64()),
            ]
        ),
    )
    write_atomically(table, quantiles_path(stem))
