"""Own-fleet fixtures the tests generate: inventory and telemetry files as a capacity team would export them.

Each builder writes real CSV or Parquet into a directory and returns what `horizonscale load` needs, plus
what the test must expect (exact reject counts per reason). Values are deterministic (seeded numpy).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

RESOURCES = ("cpu", "memory", "disk", "network")
#: How the exports spell each resource (case and aliases vary on purpose; the refinery maps them).
SPELLINGS = {"cpu": "CPU", "memory": "mem", "disk": " Disk ", "network": "net"}


@dataclass(frozen=True)
class OwnFleet:
    inventory: Path
    telemetry: str
    value_scale: str = "percent"
    telemetry_rejects: Counter[str] = field(default_factory=Counter)
    inventory_rejects: Counter[str] = field(default_factory=Counter)

    def load_args(self) -> list[str]:
        scale = ["--value-scale", self.value_scale]
        return ["load", "--inventory", str(self.inventory), "--telemetry", self.telemetry, *scale]


def inventory_frame(host_ids: list[str]) -> pl.DataFrame:
    """A tidy inventory: every required and optional column, and one column the refinery ignores."""
    n = len(host_ids)
    return pl.DataFrame(
        {
            "host_id": host_ids,
            "hostname": [f"{h.lower()}.corp.example" for h in host_ids],
            "department": ["Payments", "Payments", "Trading", "Retail"][:n] + ["Retail"] * max(0, n - 4),
            "app_code": [f"app-{i % 3}" for i in range(n)],
            "app_manager": [f"Manager {i % 2}" for i in range(n)],
            "region": ["emea", "amer-east", "emea", "apac"][:n] + ["apac"] * max(0, n - 4),
            "environment": ["prod"] * n,
            "cpu_cores": [str(8 * (i + 1)) for i in range(n)],
            "memory_gb": [str(32 + 0.5 * i) for i in range(n)],
            "storage_gb": ["500"] * n,
            "rack_position": [f"R{i}" for i in range(n)],  # unknown extra column: ignored
        }
    )


def daily_values(host_index: int, resource_index: int, days: int, seed: int = 3) -> np.ndarray:
    """A plausible daily P95 series in percent: level, slow trend, weekly cycle and noise, within 2..98."""
    rng = np.random.default_rng(seed * 1000 + host_index * 10 + resource_index)
    t = np.arange(days)
    level = 25 + 10 * host_index + 5 * resource_index
    series = level + 0.01 * t + 6 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, days)
    return np.round(np.clip(series, 2, 98), 3)


def daily_telemetry(hosts: dict[str, date], end: date, first_index: int = 0) -> pl.DataFrame:
    """One row per host, resource and day from each host's first day to ``end``, resources spelled variously."""
    frames = []
    for offset, (host_id, start) in enumerate(hosts.items()):
        days = (end - start).days + 1
        dates = [start + timedelta(days=d) for d in range(days)]
        for r, resource in enumerate(RESOURCES):
            values = daily_values(first_index + offset, r, days)
            frames.append(
                pl.DataFrame(
                    {
                        "host_id": [host_id] * days,
                        "resource": [SPELLINGS[resource]] * days,
                        # Dates alone for some hosts, UTC midnight timestamps for others: both mean that UTC day.
                        "ts": [d.isoformat() if offset % 2 == 0 else f"{d.isoformat()}T00:00:00Z" for d in dates],
                        "value": [repr(float(v)) for v in values],
                    }
                )
            )
    return pl.concat(frames)


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


# --- the four fleets of issue 6 -------------------------------------------------------------------------------


def clean_fleet(directory: Path) -> OwnFleet:
    """Three hosts, 243 days, all Parquet: typed columns (timestamp with zone, numbers) and 0-1 fractions."""
    hosts = {"srv-a": date(2025, 1, 1), "srv-b": date(2025, 1, 1), "srv-c": date(2025, 1, 1)}
    inventory = inventory_frame(list(hosts)).with_columns(
        pl.col("cpu_cores").cast(pl.Int64), pl.col("memory_gb").cast(pl.Float64), pl.col("storage_gb").cast(pl.Int64)
    )
    telemetry = daily_telemetry(hosts, date(2025, 8, 31)).with_columns(
        pl.col("ts").str.slice(0, 10).str.to_date().cast(pl.Datetime("us", "UTC")).alias("ts"),
        (pl.col("value").cast(pl.Float64) / 100).alias("value"),
    )
    directory.mkdir(parents=True, exist_ok=True)
    inventory.write_parquet(directory / "inventory.parquet")
    telemetry.write_parquet(directory / "telemetry.parquet")
    return OwnFleet(directory / "inventory.parquet", str(directory / "telemetry.parquet"), "fraction")


def _cell_of(host_id: str, column: str, value: str | None) -> pl.Expr:
    """``column`` with ``value`` on the row of ``host_id``, unchanged elsewhere."""
    return pl.when(pl.col("host_id") == host_id).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)


def bad_rows_fleet(directory: Path) -> OwnFleet:
    """Two good hosts with half a year of clean days (1,456 rows), then every kind of bad row, each counted."""
    good = {"h1": date(2024, 1, 1), "h2": date(2024, 1, 1)}
    inventory = inventory_frame([*good, "h-nohostname", "h-noregion", "h-badcores", "h-badmemory"])
    inventory = inventory.with_columns(
        _cell_of("h-nohostname", "hostname", "  "),
        _cell_of("h-noregion", "region", None),
        _cell_of("h-badcores", "cpu_cores", "four"),
        _cell_of("h-badmemory", "memory_gb", "-8"),
    )
    duplicate = inventory.filter(pl.col("host_id") == "h1").with_columns(
        pl.lit(" H1 ").alias("host_id"), pl.lit("Other").alias("department")
    )
    no_id = inventory.filter(pl.col("host_id") == "h2").with_columns(pl.lit("").alias("host_id"))
    inventory = pl.concat([inventory, duplicate, no_id])
    inventory_rejects = Counter(
        {
            "missing_hostname": 1,
            "missing_region": 1,
            "invalid_cpu_cores": 1,
            "invalid_memory_gb": 1,
            "duplicate_host_id": 1,
            "missing_host_id": 1,
        }
    )

    clean = daily_telemetry(good, date(2024, 6, 30))
    bad_rows = [
        # (host_id, resource, ts, value, expected reason)
        ("ghost", "cpu", "2024-01-05", "10", "unknown_host"),
        ("ghost", "memory", "2024-01-06", "10", "unknown_host"),
        ("h-nohostname", "cpu", "2024-01-05", "10", "rejected_host"),
        ("h-badcores", "cpu", "2024-01-05", "10", "rejected_host"),
        ("h1", "cpu", "31/01/2024", "10", "unparseable_timestamp"),
        ("h1", "cpu", "yesterday", "10", "unparseable_timestamp"),
        ("h1", "cpu", "", "10", "unparseable_timestamp"),
        ("h1", "cpu", "2024-01-05T10:00:00Z", "", "missing_value"),
        ("h1", "cpu", "2024-01-05T10:05:00Z", None, "missing_value"),
        ("h1", "cpu", "2024-01-05T10:10:00Z", "abc", "non_numeric_value"),
        ("h1", "cpu", "2024-01-05T10:15:00Z", "NaN", "non_numeric_value"),
        ("h1", "cpu", "2024-01-05T10:20:00Z", "-1", "out_of_range"),
        ("h1", "cpu", "2024-01-05T10:25:00Z", "100.5", "out_of_range"),
        ("h1", "cpu", "2024-01-05T10:30:00Z", "999", "out_of_range"),
        ("h1", "gpu", "2024-01-05T10:35:00Z", "10", "unknown_resource"),
        ("h1", "iops", "2024-01-05T10:40:00Z", "10", "unknown_resource"),
        ("h1", "cpu", "2099-01-01T00:00:00Z", "10", "future_timestamp"),
        ("h2", "disk", "2098-06-01", "10", "future_timestamp"),
        ("h2", "disk", "1970-01-01T00:00:00Z", "10", "too_old_timestamp"),  # a placeholder date
        # The same instant as a clean daily row (h1 memory on 2024-01-07 at midnight UTC), lower: it loses.
        ("h1", "mem", "2024-01-07T00:00:00+00:00", "0.5", "duplicate_sample"),
        # The same instant written with another offset, equal value: the lower raw_row_id (the clean row) wins.
        ("H1", "memory", "2024-01-07T01:00:00+01:00", None, "duplicate_sample"),
        # A clock running ahead: a valid row five months after the fleet's last day (2024-06-30) must not
        # stretch every series to its day with made-up values.
        ("h1", "disk", "2024-11-30T08:00:00Z", "55", "after_fleet_end"),
        # A valid row on the first day, which the test puts outside the window with history_start.
        ("h2", "network", "2023-12-31T23:59:59Z", "40", "out_of_window"),
    ]
    clean_h1_memory = clean.filter(
        (pl.col("host_id") == "h1") & (pl.col("resource") == SPELLINGS["memory"]) & (pl.col("ts") == "2024-01-07")
    )["value"][0]
    rows = [(h, r, t, clean_h1_memory if v is None and "01:00:00+01:00" in t else v) for h, r, t, v, _ in bad_rows]
    bad = pl.DataFrame(rows, schema=["host_id", "resource", "ts", "value"], orient="row")
    telemetry_rejects = Counter(reason for *_, reason in bad_rows)
    write_csv(inventory, directory / "inventory.csv")
    write_csv(clean, directory / "exports" / "1_clean.csv")  # the glob loads files in name order
    write_csv(bad, directory / "exports" / "2_bad.csv")
    return OwnFleet(
        directory / "inventory.csv",
        str(directory / "exports" / "*.csv"),
        telemetry_rejects=telemetry_rejects,
        inventory_rejects=inventory_rejects,
    )


#: The raw-sample fleet: (resource, zone written in the export, first UTC day, last UTC day).
SAMPLE_SPANS = (
    ("cpu", "Europe/London", date(2024, 3, 29), date(2024, 4, 1)),  # spring forward, 2024-03-31 01:00 UTC
    ("memory", "America/New_York", date(2024, 2, 27), date(2024, 3, 11)),  # leap day; DST starts 2024-03-10
    ("disk", "Europe/London", date(2024, 10, 26), date(2024, 10, 28)),  # fall back: 01:00-01:59 twice
)


def sample_rows(step_minutes: int = 5, seed: int = 11) -> pl.DataFrame:
    """Raw samples every ``step_minutes`` in UTC, written as local time with that zone's offset of the day."""
    rng = np.random.default_rng(seed)
    frames = []
    for resource, zone, first, last in SAMPLE_SPANS:
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        count = ((last - first).days + 1) * 24 * 60 // step_minutes
        instants = [start + timedelta(minutes=step_minutes * i) for i in range(count)]
        local = [i.astimezone(ZoneInfo(zone)) for i in instants]
        # Two spellings of an offset: 2024-03-31T02:05:00+01:00 and 2024-03-10 03:05:00-0400.
        text = [t.isoformat() if resource != "memory" else t.strftime("%Y-%m-%d %H:%M:%S%z") for t in local]
        values = np.round(rng.uniform(5, 90, count), 2)
        frames.append(
            pl.DataFrame(
                {
                    "host_id": ["edge-1"] * count,
                    "resource": [resource] * count,
                    "ts": text,
                    "value": [repr(float(v)) for v in values],
                    "utc_day": [i.date() for i in instants],
                }
            )
        )
    return pl.concat(frames)


def sample_fleet(directory: Path) -> tuple[OwnFleet, pl.DataFrame]:
    """One host's 5-minute samples across DST changes and a leap day; returns the samples with their UTC day."""
    samples = sample_rows()
    write_csv(inventory_frame(["edge-1"]), directory / "inventory.csv")
    write_csv(samples.drop("utc_day"), directory / "samples.csv")
    return OwnFleet(directory / "inventory.csv", str(directory / "samples.csv")), samples


#: The end-to-end fleet: three hosts with ~2.5 years of daily data, and two that joined late.
JOINED = {
    "app-01": date(2023, 7, 1),
    "app-02": date(2023, 7, 1),
    "db-01": date(2023, 7, 1),
    "late-01": date(2025, 6, 15),  # 78 days before the backtest starts (2025-09-01): too short
    "late-02": date(2025, 11, 1),  # joined inside the backtest window
}
JOINED_END = date(2025, 12, 31)


#: The series of the joiners fleet stuck at one value every day (a disk 98% full that never moves).
STUCK = ("db-01", "disk", 98.0)


def joiners_fleet(directory: Path) -> OwnFleet:
    """Inventory CSV and telemetry split over two CSV files (a glob), percent values; one series (STUCK) constant."""
    host, resource, value = STUCK
    stuck = (pl.col("host_id") == host) & (pl.col("resource") == SPELLINGS[resource])
    telemetry = daily_telemetry(JOINED, JOINED_END).with_columns(
        pl.when(stuck).then(pl.lit(repr(value))).otherwise(pl.col("value")).alias("value")
    )
    year = pl.col("ts").str.slice(0, 4)
    write_csv(inventory_frame(list(JOINED)), directory / "inventory.csv")
    write_csv(telemetry.filter(year < "2025"), directory / "exports" / "until_2024.csv")
    write_csv(telemetry.filter(year >= "2025"), directory / "exports" / "from_2025.csv")
    return OwnFleet(directory / "inventory.csv", str(directory / "exports" / "*.csv"))


#: An inventory host of short_fleet with no telemetry at all.
SILENT = "gone-01"


def short_fleet(directory: Path) -> OwnFleet:
    """Two hosts with 60 days of history in all: too short for any backtest (4 months); and SILENT, a third
    inventory host none of whose rows is in the export."""
    hosts = {"new-01": date(2025, 5, 1), "new-02": date(2025, 5, 1)}
    write_csv(inventory_frame([*hosts, SILENT]), directory / "inventory.csv")
    write_csv(daily_telemetry(hosts, date(2025, 6, 29)), directory / "telemetry.csv")
    return OwnFleet(directory / "inventory.csv", str(directory / "telemetry.csv"))


# --- issue 11: builds that must fail early, with one line that says why ----------------------------------------

#: Two hosts, a month of daily rows each: 2 x 4 x 30 = 240 telemetry rows.
TINY_HOSTS = {"h0": date(2025, 1, 1), "h1": date(2025, 1, 1)}
TINY_END = date(2025, 1, 30)


def mismatched_fleet(directory: Path) -> OwnFleet:
    """Telemetry whose every resource is one this project does not forecast (``gpu_CPU``, ``gpu_MEM``, ...): every
    row is unknown_resource, which `load` cannot tell from a typo it should refuse (an FQDN inventory with short
    telemetry names is refused by `load` itself); and one of the nine inventory rows has cpu_cores 'four' (11%
    rejected, above the default 5%)."""
    inventory = inventory_frame([f"h{i}" for i in range(9)]).with_columns(_cell_of("h8", "cpu_cores", "four"))
    write_csv(inventory, directory / "inventory.csv")
    telemetry = daily_telemetry(TINY_HOSTS, TINY_END).with_columns(("gpu_" + pl.col("resource")).alias("resource"))
    write_csv(telemetry, directory / "telemetry.csv")
    return OwnFleet(
        directory / "inventory.csv",
        str(directory / "telemetry.csv"),
        telemetry_rejects=Counter({"unknown_resource": 2 * 4 * 30}),
        inventory_rejects=Counter({"invalid_cpu_cores": 1}),
    )
