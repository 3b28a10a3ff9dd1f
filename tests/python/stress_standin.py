"""A stand-in for ``horizonscale stress-fleet`` output (its file contract), a few series written by hand.

Used by the trust bench's tests so they do not depend on the stress generator's draws (only on its names for
the oracle band's columns); the real generator writes the same five files (inventory.csv, telemetry.parquet,
truth.parquet, series.parquet, manifest.json).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from python_engines.stress.fleet import ORACLE_BAND_COLUMNS

HISTORY_START = date(2025, 1, 1)
HISTORY_END = date(2025, 12, 31)
HORIZON = 180
THRESHOLD = 95.0

#: Series: (host_id, resource, family, clean value on horizon day h = 1..180).
Curve = Callable[[np.ndarray], np.ndarray]
#: The families whose law the stand-in's oracle knows (the generator: those that can breach). The curves have
#: no noise, so its band is the curve itself; other families get null oracle columns, as from the generator.
ORACLE_FAMILIES = ("ramp",)


def write_stress_standin(out: Path, series: list[tuple[str, str, str, Curve]]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    hosts = sorted({host for host, *_ in series})
    pl.DataFrame(
        {
            "host_id": [h.upper() for h in hosts],  # the generator's dirt: ids in upper case in the exports
            "hostname": [f"{h}.example" for h in hosts],
            "department": "Ops",
            "app_code": "APP",
            "app_manager": "A. Manager",
            "region": "EMEA",
        }
    ).write_csv(out / "inventory.csv")
    history = np.arange(np.datetime64(HISTORY_START), np.datetime64(HISTORY_END) + 1)
    days = np.arange(1, HORIZON + 1)
    future = np.datetime64(HISTORY_END) + days
    telemetry, truth, rows = [], [], []
    for host, resource, family, curve in series:
        telemetry.append(pl.DataFrame({"host_id": host, "resource": resource, "ts": history, "value": 50.0}))
        y = curve(days).astype(np.float64)
        known = y if family in ORACLE_FAMILIES else np.full(HORIZON, np.nan)
        oracle = dict.fromkeys(ORACLE_BAND_COLUMNS, known)
        truth.append(
            pl.DataFrame({"host_id": host, "resource": resource, "family": family, "ds": future, "y": y, **oracle})
        )
        over = np.flatnonzero(y > THRESHOLD)
        first = int(over[0]) + 1 if over.size else None
        rows.append(
            {
                "host_id": host,
                "resource": resource,
                "family": family,
                "first_day": HISTORY_START,
                "true_breach_date": HISTORY_END + timedelta(days=first) if first else None,
                "days_to_true_breach": first,
                # The curves have no noise: the oracle knows the breach for certain.
                "oracle_breach_probability": 1.0 if first is not None and first <= 90 else 0.0,
            }
        )
    pl.concat(telemetry).with_columns(pl.col("ts").cast(pl.Date)).write_parquet(out / "telemetry.parquet")
    pl.concat(truth).with_columns(pl.col("ds").cast(pl.Date), pl.col("^oracle_.*$").fill_nan(None)).write_parquet(
        out / "truth.parquet"
    )
    pl.DataFrame(rows).write_parquet(out / "series.parquet")
    families: dict[str, int] = {}
    for _, _, family, _ in series:
        families[family] = families.get(family, 0) + 1
    manifest = {
        "seed": 0,
        "hosts": len(hosts),
        "history_start": HISTORY_START.isoformat(),
        "history_end": HISTORY_END.isoformat(),
        "horizon_days": HORIZON,
        "breach_threshold": THRESHOLD,
        "family_counts": families,
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out
