"""Turn clean telemetry into the dirty legacy feed a real collector delivers, at documented rates.

The refinery must clean all of it and account for every raw row (used + rejected = raw).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from python_engines.synthetic.fleet import RESOURCES
from python_engines.synthetic.telemetry import Calendar

#: How a resource name may be spelled by a legacy feed (the refinery lower-cases and trims).
RESOURCE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "cpu": ("CPU", "Cpu", " cpu"),
    "memory": ("MEMORY", "Memory", "memory "),
    "disk": ("DISK", "Disk", " disk "),
    "network": ("NETWORK", "Network", "network "),
}


@dataclass(frozen=True)
class DirtRates:
    """Share of rows (or series) affected by each kind of dirt. Documented in README."""

    missing_day: float = 0.004  # single days that never arrived
    outage_series: float = 0.02  # series with one collector outage of 3-10 consecutive days
    duplicate: float = 0.005  # rows re-sent later with a different value
    mixed_case_host: float = 0.01  # host_id delivered in upper case
    mixed_case_resource: float = 0.01  # resource delivered as 'CPU', ' Memory', ...
    out_of_range: float = 0.0005  # values below 0, above 100, or the 999 sensor error code
    null_value: float = 0.0002  # value missing in an otherwise present row


@dataclass(frozen=True)
class DirtCounts:
    missing_rows: int
    duplicate_rows: int
    mixed_case_rows: int
    out_of_range_rows: int
    null_value_rows: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __add__(self, other: DirtCounts) -> DirtCounts:
        return DirtCounts(*(a + b for a, b in zip(self.as_dict().values(), other.as_dict().values(), strict=True)))


NO_DIRT = DirtCounts(0, 0, 0, 0, 0)


def block_stream(block: int) -> tuple[int, ...]:
    """The dirt stream of the generated window of one block of hosts: the first block (or a fleet of one
    block) draws from the fleet's stream, block b > 0 from its own (0, b) (extension days use (k,), k >= 1)."""
    return (0, block) if block else ()


def outage_mask(rng: np.random.Generator, series: int, days: int, rate: float) -> np.ndarray:
    """(series, days) mask of multi-day collector outages, built without a loop over series."""
    hit = rng.random(series) < rate
    start = rng.integers(0, max(days - 10, 1), series)
    length = rng.integers(3, 11, series)
    day = np.arange(days)[None, :]
    return hit[:, None] & (day >= start[:, None]) & (day < (start + length)[:, None])


def corrupt_values(rng: np.random.Generator, values: np.ndarray, rates: DirtRates) -> tuple[np.ndarray, int, int]:
    """Replace a few values by impossible ones or nulls (NaN). Returns values, out-of-range count, null count."""
    values = values.copy()
    bad = rng.random(values.size) < rates.out_of_range
    kind = rng.integers(0, 3, values.size)
    replacement = np.select(
        [kind == 0, kind == 1],
        [rng.uniform(100.5, 140.0, values.size), rng.uniform(-8.0, -0.1, values.size)],
        999.0,
    )
    values[bad] = np.round(replacement[bad], 2)
    null = (rng.random(values.size) < rates.null_value) & ~bad
    values[null] = np.nan
    return values, int(bad.sum()), int(null.sum())


def dirty_feed(
    clean: np.ndarray,
    host_ids: list[str],
    cal: Calendar,
    seed: int,
    rates: DirtRates | None = None,
    stream: tuple[int, ...] = (),
    first_row_id: int = 1,
) -> tuple[pl.DataFrame, DirtCounts]:
    """Long-format raw feed: raw_row_id, host_id, resource, ts, value, loaded_at (sorted, ids from
    ``first_row_id``). ``stream`` picks an independent random stream (the extension days use one per day)."""
    rates = rates or DirtRates()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2, *stream]))
    hosts, resources, days = clean.shape
    series = hosts * resources

    missing = (rng.random((series, days)) < rates.missing_day) | outage_mask(rng, series, days, rates.outage_series)
    keep = np.flatnonzero(~missing.ravel())
    series_index = keep // days
    day_index = keep % days
    values, out_of_range, nulls = corrupt_values(rng, clean.ravel()[keep], rates)
    # Loaded the next morning between 02:00 and 05:00.
    load_offset = 26 * 3600 + rng.integers(0, 3 * 3600, keep.size)

    dup = np.flatnonzero(rng.random(keep.size) < rates.duplicate)
    resent = np.clip(np.round(values[dup] + rng.normal(0.0, 3.0, dup.size), 2), 0.0, 100.0)
    series_index = np.concatenate([series_index, series_index[dup]])
    day_index = np.concatenate([day_index, day_index[dup]])
    values = np.concatenate([values, resent])
    load_offset = np.concatenate([load_offset, load_offset[dup] + rng.integers(3600, 48 * 3600, dup.size)])

    order = np.lexsort((load_offset, day_index, series_index))
    series_index, day_index, values, load_offset = (a[order] for a in (series_index, day_index, values, load_offset))
    rows = series_index.size
    host_index = series_index // resources
    resource_index = series_index % resources

    upper_host = rng.random(rows) < rates.mixed_case_host
    odd_resource = rng.random(rows) < rates.mixed_case_resource
    spelling = rng.integers(0, 3, rows)
    spellings = np.array([[r, *RESOURCE_SPELLINGS[r]] for r in RESOURCES])
    resource_text = spellings[resource_index, np.where(odd_resource, spelling + 1, 0)]

    ts = cal.days[day_index]
    frame = pl.DataFrame(
        {
            "raw_row_id": np.arange(first_row_id, first_row_id + rows, dtype=np.int64),
            "host_id": pl.Series(host_ids).gather(host_index),
            "resource": resource_text,
            "ts": ts,
            "value": values,
            "loaded_at": ts.astype("datetime64[ms]") + load_offset.astype("timedelta64[s]").astype("timedelta64[ms]"),
        }
    ).with_columns(
        pl.when(pl.Series(upper_host)).then(pl.col("host_id").str.to_uppercase()).otherwise(pl.col("host_id")),
        pl.col("value").fill_nan(None),
        pl.col("loaded_at").cast(pl.Datetime("us")),
    )
    counts = DirtCounts(
        missing_rows=int(missing.sum()),
        duplicate_rows=int(dup.size),
        mixed_case_rows=int((upper_host | odd_resource).sum()),
        out_of_range_rows=out_of_range,
        null_value_rows=nulls,
    )
    return frame, counts


def extension_days(
    clean: np.ndarray,
    host_ids: list[str],
    cal: Calendar,
    seed: int,
    rates: DirtRates,
    first_row_id: int,
    first_day_number: int = 1,
) -> Iterator[tuple[pl.DataFrame, DirtCounts]]:
    """The dirty feed of the days after the anchored window, one day (of the whole fleet) at a time, from a
    stream keyed by the day's number after the window, so a day's rows are the same however far the fleet is
    extended. The rates are those of one day: a collector outage (a multi-day story) does not start on an
    extension day. ``first_day_number``: the number of ``cal``'s first day after the window (1 unless earlier
    days were written by an earlier extension)."""
    daily = DirtRates(**{**asdict(rates), "outage_series": 0.0})
    for k in range(clean.shape[2]):
        day_cal = Calendar.between(cal.days[k].item(), cal.days[k].item())
        frame, counts = dirty_feed(
            clean[:, :, k : k + 1], host_ids, day_cal, seed, daily, (k + first_day_number,), first_row_id
        )
        first_row_id += frame.height
        yield frame, counts
