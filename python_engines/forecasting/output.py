"""What every engine returns for one series, and how a fleet of those becomes the contract tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from python_engines.forecasting.windows import ForecastWindows

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_INSUFFICIENT = "insufficient_history"

SEGMENT_BACKTEST = "backtest"
SEGMENT_FORECAST = "forecast"

LOWEST, HIGHEST = 0.0, 100.0

FORECAST_COLUMNS = ("host_id", "resource", "model", "segment", "ds", "yhat", "yhat_lower", "yhat_upper")
RUN_COLUMNS = ("host_id", "resource", "model", "status", "error", "fit_seconds", "observed_days", "detail")


@dataclass(frozen=True)
class Band:
    """A point forecast with its interval, day by day (float64 arrays of equal length), and the yardstick a
    calibrated interval around it is drawn in where the engine sets its own (None: :func:`series.scale_until`).
    ``scale`` is read from the calibration run's bands only; bands kept from an earlier build
    (:mod:`.backtest_reuse`) come back without it."""

    yhat: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    scale: float | None = None

    @classmethod
    def bounded(cls, yhat: np.ndarray, lower: np.ndarray, upper: np.ndarray, scale: float | None = None) -> Band:
        """Utilisation is physical: everything in [0, 100], and lower <= yhat <= upper."""
        point = np.clip(np.nan_to_num(yhat, nan=LOWEST), LOWEST, HIGHEST)
        low = np.minimum(np.clip(np.nan_to_num(lower, nan=LOWEST), LOWEST, HIGHEST), point)
        high = np.maximum(np.clip(np.nan_to_num(upper, nan=HIGHEST), LOWEST, HIGHEST), point)
        return cls(point, low, high, scale)


@dataclass
class SeriesForecast:
    """One engine's outcome for one series: the run-log row and, when ``status == 'ok'``, both segments."""

    host_id: str
    resource: str
    model: str
    status: str
    error: str | None = None
    fit_seconds: float = 0.0
    observed_days: int = 0
    backtest: Band | None = None
    forecast: Band | None = None
    detail: dict[str, object] = field(default_factory=dict)
    backtest_key: str | None = None  # what the backtest was made from (backtest_reuse), when recorded

    def run_row(self) -> dict[str, object]:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(self.detail.items())) or None
        return {
            "host_id": self.host_id,
            "resource": self.resource,
            "model": self.model,
            "status": self.status,
            "error": self.error,
            "fit_seconds": round(self.fit_seconds, 4),
            "observed_days": self.observed_days,
            "detail": detail,
        }

    def to_frame(self, windows: ForecastWindows) -> pd.DataFrame:
        """This series' rows in the contract shape (what a Spark ``applyInPandas`` function returns)."""
        return forecast_table([self], windows).to_pandas()


def failed(host_id: str, resource: str, model: str, error: str, seconds: float = 0.0) -> SeriesForecast:
    return SeriesForecast(host_id, resource, model, STATUS_FAILED, error=error[:1000], fit_seconds=seconds)


def forecast_table(results: Sequence[SeriesForecast], windows: ForecastWindows) -> pa.Table:
    """All ok series' backtest and forecast rows, built column-wise (no per-row Python)."""
    ok = [r for r in results if r.status == STATUS_OK and r.backtest is not None and r.forecast is not None]
    backtest_days, forecast_days = windows.backtest_dates(), windows.forecast_dates()
    per_series = backtest_days.size + forecast_days.size
    n = len(ok)

    def stacked(attribute: str) -> np.ndarray:
        if not ok:
            return np.empty(0)
        parts = [np.concatenate([getattr(r.backtest, attribute), getattr(r.forecast, attribute)]) for r in ok]
        return np.concatenate(parts)

    segments = np.array([SEGMENT_BACKTEST] * backtest_days.size + [SEGMENT_FORECAST] * forecast_days.size)
    return pa.table(
        {
            "host_id": pa.array(np.repeat([r.host_id for r in ok], per_series).astype(str), pa.string()),
            "resource": pa.array(np.repeat([r.resource for r in ok], per_series).astype(str), pa.string()),
            "model": pa.array(np.repeat([r.model for r in ok], per_series).astype(str), pa.string()),
            "segment": pa.array(np.tile(segments, n).astype(str), pa.string()),
            "ds": pa.array(np.tile(np.concatenate([backtest_days, forecast_days]), n), pa.date32()),
            "yhat": pa.array(stacked("yhat"), pa.float64()),
            "yhat_lower": pa.array(stacked("lower"), pa.float64()),
            "yhat_upper": pa.array(stacked("upper"), pa.float64()),
        }
    )


def write_atomically(table: pa.Table, target: Path) -> None:
    """Write ``table`` to ``target`` as Parquet under a temporary name, then rename: a reader never sees half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    pq.write_table(table, partial, compression="zstd")
    partial.replace(target)


def run_table(results: Sequence[SeriesForecast]) -> pa.Table:
    """The run log: one row per series (ok, failed or insufficient_history)."""
    rows = [r.run_row() for r in results]
    schema = pa.schema(
        [
            ("host_id", pa.string()),
            ("resource", pa.string()),
            ("model", pa.string()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("fit_seconds", pa.float64()),
            ("observed_days", pa.int64()),
            ("detail", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)
