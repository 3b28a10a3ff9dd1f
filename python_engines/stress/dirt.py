"""The dirt of a real export, planted in the stress fleet's history at known rates.

Two kinds: days that never arrive (single missing days, host-wide collector outages), which the refinery
fills; and rows that arrive wrong (re-sent duplicates with another value, upper-case host ids, resource names
spelled as other tools spell them, impossible values), which it normalises or rejects with a reason. Only
duplicates and impossible values end up in ``telemetry_rejects``: about 0.33% of rows, far under the 5%
that fails a build.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_engines.stress.processes import Calendar

#: How other collectors spell each resource; every one maps back through seeds/resource_aliases.csv after
#: lower(trim()).
RESOURCE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "cpu": ("CPU", "cpu_util", "Processor"),
    "memory": ("mem", "RAM", "memory_usage"),
    "disk": ("Disk", "fs", "storage"),
    "network": ("net", "NIC", "bandwidth"),
}

_SPELLINGS_PER_RESOURCE = 3

#: Days at the end of the history that collector outages leave alone (single missing days spare only a series'
#: first and last day), so every series reports on history_end and the refinery derives the generator's
#: history_end. Row dirt can still fall on any day: an impossible value on a series' last day (about one series
#: in 3,000) leaves that series without it.
_KEEP_LAST_DAYS = 14


@dataclass(frozen=True)
class DirtRates:
    missing_day: float = 0.003  # share of series-days that never arrive
    collector_outages_per_100_hosts: float = 2.0  # 3-10-day outages of a host's whole collector (at least 2)
    duplicate: float = 0.003  # rows re-sent later with another value
    upper_case_host: float = 0.01
    odd_resource_spelling: float = 0.01
    impossible_value: float = 0.0003  # negative or above 100


def missing_days(
    rng: np.random.Generator, calendar: Calendar, first_index: np.ndarray, rates: DirtRates
) -> tuple[np.ndarray, dict[str, int]]:
    """(series x history days) True where a day never arrives: single days anywhere after the first and
    before the last day, and host-wide outages of 3-10 days out of the last two weeks. Series come host by
    host, four in a row."""
    n, days = first_index.shape[0], calendar.history_days
    t = np.arange(days)[None, :]
    inside = (t > first_index[:, None]) & (t < days - 1)
    single = (rng.random((n, days)) < rates.missing_day) & inside

    hosts = n // 4
    count = max(2, round(hosts * rates.collector_outages_per_100_hosts / 100))
    host = rng.integers(0, hosts, count)
    length = rng.integers(3, 11, count)
    host_first = first_index[host * 4]
    start = np.floor(rng.uniform(host_first + 1, days - _KEEP_LAST_DAYS - length)).astype(int)
    outage_days = (t >= start[:, None]) & (t < (start + length)[:, None])  # (outages, days)
    outage = np.zeros((n, days), dtype=bool)
    for resource in range(4):  # four vectorised steps, one per resource of the host
        np.logical_or.at(outage, host * 4 + resource, outage_days)
    counts = {"missing_single_days": int(single.sum()), "collector_outages": count}
    counts["collector_outage_series_days"] = int((outage & ~single).sum())
    return single | outage, counts


@dataclass(frozen=True)
class Rows:
    """Telemetry rows as delivered, kept as numbers until written (building millions of strings in numpy
    and handing them to polars costs seconds; a gather from a small lookup table costs milliseconds).

    ``series`` and ``day`` index the value grid (series host by host, RESOURCES order); ``spelling`` 0 is
    the resource's own name, k > 0 its k-th RESOURCE_SPELLINGS entry; ``stamped`` writes the day as a UTC
    midnight timestamp instead of a date."""

    series: np.ndarray
    day: np.ndarray
    value: np.ndarray
    upper_case_host: np.ndarray
    spelling: np.ndarray
    stamped: np.ndarray


def soil_rows(rng: np.random.Generator, rows: Rows, rates: DirtRates) -> tuple[Rows, dict[str, int]]:
    """Re-send some rows with another value (appended at the end, as a late re-delivery, stamped as a UTC
    midnight timestamp: the same instant), upper-case some host ids, respell some resources, and make a few
    values impossible. Returns the dirty rows and the number of each kind planted."""
    m = rows.value.shape[0]
    upper = rows.upper_case_host | (rng.random(m) < rates.upper_case_host)
    respelled = rng.random(m) < rates.odd_resource_spelling
    spelling = np.where(respelled, rng.integers(1, _SPELLINGS_PER_RESOURCE + 1, m), rows.spelling)

    resent = np.flatnonzero(rng.random(m) < rates.duplicate)
    delta = rng.uniform(0.5, 6, resent.size) * np.where(rng.random(resent.size) < 0.5, -1, 1)
    shifted = rows.value[resent] + delta
    resent_value = np.round(np.where((shifted < 0) | (shifted > 100), rows.value[resent] - delta, shifted), 2)

    impossible = rng.random(m) < rates.impossible_value
    wild = np.where(rng.random(m) < 0.5, -rng.uniform(0.5, 40, m), 100 + rng.uniform(0.5, 150, m))
    value = np.where(impossible, np.round(wild, 2), rows.value)

    dirty = Rows(
        series=np.concatenate([rows.series, rows.series[resent]]),
        day=np.concatenate([rows.day, rows.day[resent]]),
        value=np.concatenate([value, resent_value]),
        upper_case_host=np.concatenate([upper, upper[resent]]),
        spelling=np.concatenate([spelling, spelling[resent]]),
        stamped=np.concatenate([rows.stamped, np.ones(resent.size, dtype=bool)]),
    )
    counts = {
        "upper_case_host_rows": int(upper.sum()),
        "odd_resource_rows": int(respelled.sum()),
        "resent_duplicate_rows": int(resent.size),
        "impossible_value_rows": int(impossible.sum()),
        # What telemetry_rejects should show: a re-sent row whose original was made impossible is the only
        # valid row of its day, so it is used rather than rejected.
        "expected_out_of_range": int(impossible.sum()),
        "expected_duplicate_sample": int(resent.size - impossible[resent].sum()),
    }
    return dirty, counts
