"""Assemble a stress fleet: assign families, draw every family's grid, split history from truth, write files.

Random streams are keyed by (seed, purpose) rather than drawn in sequence, so adding a family or a kind of
dirt does not reshuffle everything else, and the same seed always gives the same bytes.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

from python_engines.stress.blind import BLIND_AFFINITY, BLIND_FAMILIES
from python_engines.stress.dirt import RESOURCE_SPELLINGS, DirtRates, Rows, missing_days, soil_rows
from python_engines.stress.families import BREACH_THRESHOLD, FAMILIES, RESOURCE_AFFINITY, FamilyFunction
from python_engines.stress.holdout import HOLDOUT_AFFINITY, HOLDOUT_FAMILIES
from python_engines.stress.oracle import band, breach_probability, simulated
from python_engines.stress.processes import Calendar

log = logging.getLogger(__name__)

RESOURCES: tuple[str, ...] = ("cpu", "memory", "disk", "network")
BREACH_WINDOW_DAYS = 90
#: The truth's columns with the oracle's 80% band, in the order of Drawn.oracle_band (lower, median, upper).
ORACLE_BAND_COLUMNS = ("oracle_lower", "oracle_median", "oracle_upper")
MAX_HOSTS = 9999  # host ids carry four digits

# Random stream ids (the second element of each generator's seed).
_ASSIGN, _INVENTORY, _MISSING, _ROWS, _TIMESTAMPS, _FAMILY, _ORACLE = 1, 2, 3, 4, 5, 100, 200
# The held-out and blind sets' families and oracles draw from streams of their own (150.., 250..; 175.., 275..).
_HOLDOUT_FAMILY, _HOLDOUT_ORACLE = 150, 250
_BLIND_FAMILY, _BLIND_ORACLE = 175, 275


@dataclass(frozen=True)
class FamilySet:
    """A set of families a fleet is drawn from: shares and generators, resource affinities, the family that
    takes whole hosts (a host that joined late), and the first random stream ids of its families and oracle."""

    families: dict[str, tuple[float, FamilyFunction]]
    affinity: dict[str, tuple[str, ...]]
    whole_host: str
    family_stream: int
    oracle_stream: int


#: ``tuned``: the families the engine was tuned on (``stress.families``), the default, byte for byte as before
#: the option existed. ``holdout``: the families written without reading the engine (``stress.holdout``).
#: ``blind``: the families nothing is tuned on (``stress.blind``).
FAMILY_SETS: dict[str, FamilySet] = {
    "tuned": FamilySet(FAMILIES, RESOURCE_AFFINITY, "late_joiner", _FAMILY, _ORACLE),
    "holdout": FamilySet(HOLDOUT_FAMILIES, HOLDOUT_AFFINITY, "young_ramp", _HOLDOUT_FAMILY, _HOLDOUT_ORACLE),
    "blind": FamilySet(BLIND_FAMILIES, BLIND_AFFINITY, "migrated_host", _BLIND_FAMILY, _BLIND_ORACLE),
}

#: department -> (app code, app manager) pairs of the stress company.
COMPANY: dict[str, tuple[tuple[str, str], ...]] = {
    "Payments": (("PAY-API", "Ann Lee"), ("PAY-GW", "Tomas Berg")),
    "Trading": (("TRD-EXE", "Raj Patel"), ("TRD-RISK", "Mei Chen")),
    "Retail Banking": (("RTL-WEB", "Olu Adeyemi"), ("RTL-MOB", "Sara Novak")),
    "Risk": (("RSK-CALC", "Jonas Weber"),),
    "Data Platform": (("DAT-LAKE", "Priya Nair"), ("DAT-ETL", "Luis Ortega")),
    "Operations": (("OPS-MON", "Kate Murphy"),),
}
REGIONS: tuple[str, ...] = ("EMEA", "AMER-EAST", "AMER-WEST", "APAC")


class StressInputError(ValueError):
    """Arguments a stress fleet cannot be made from; the message says which and what to use."""


@dataclass(frozen=True)
class StressConfig:
    hosts: int = 400
    seed: int = 11
    history_end: date = date(2025, 12, 31)
    history_days: int = 1095
    horizon_days: int = 180
    rates: DirtRates = field(default_factory=DirtRates)
    #: The family of every series, host by host in RESOURCES order (``hosts * 4`` names), to build a small
    #: fleet holding exactly the shapes a test needs; None (the default) draws them by the families' shares.
    families: tuple[str, ...] | None = None
    #: Which families the fleet is drawn from (FAMILY_SETS): ``tuned`` (the default), ``holdout`` or ``blind``.
    family_set: str = "tuned"

    def validate(self) -> None:
        if self.family_set not in FAMILY_SETS:
            raise StressInputError(f"--family-set must be one of {', '.join(FAMILY_SETS)}, got {self.family_set!r}")
        if not 1 <= self.hosts <= MAX_HOSTS:
            raise StressInputError(f"--hosts must be between 1 and {MAX_HOSTS}, got {self.hosts}")
        if self.seed < 0:
            raise StressInputError(f"--seed must be >= 0, got {self.seed}")
        if self.history_days < 540:
            raise StressInputError(
                f"--history-days must be at least 540 (late joiners start up to 500 days back), got {self.history_days}"
            )
        if self.horizon_days < BREACH_WINDOW_DAYS:
            raise StressInputError(f"--horizon-days must be at least {BREACH_WINDOW_DAYS}, got {self.horizon_days}")
        if self.families is not None:
            validate_families(self.families, self.hosts, self.chosen_set)

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.history_end, self.history_days, self.horizon_days)

    @property
    def chosen_set(self) -> FamilySet:
        return FAMILY_SETS[self.family_set]


@dataclass(frozen=True)
class StressFleet:
    """Everything a stress fleet is, in memory: the four frames and the manifest."""

    inventory: pl.DataFrame
    telemetry: pl.DataFrame
    truth: pl.DataFrame
    series: pl.DataFrame
    manifest: dict[str, object]


def validate_families(families: tuple[str, ...], hosts: int, family_set: FamilySet = FAMILY_SETS["tuned"]) -> None:
    """A chosen family list must name a family of the set for each of the ``hosts * 4`` series, and its
    whole-host family (late_joiner, young_ramp: a host that joined late, all four series together) only for
    whole hosts."""
    n = hosts * len(RESOURCES)
    if len(families) != n:
        raise StressInputError(
            f"families must name one family per series, {n} for {hosts} hosts x {len(RESOURCES)} resources "
            f"({', '.join(RESOURCES)}), got {len(families)}"
        )
    unknown = sorted(set(families) - set(family_set.families))
    if unknown:
        raise StressInputError(f"unknown families {', '.join(unknown)}: use {', '.join(family_set.families)}")
    whole = family_set.whole_host
    by_host = np.array(families, dtype=object).reshape(hosts, len(RESOURCES)) == whole
    split = np.flatnonzero(by_host.any(axis=1) & ~by_host.all(axis=1))
    if split.size:
        raise StressInputError(f"{whole} is a whole host: give all four series of host {split[0] + 1} {whole}, or none")


def _rng(config: StressConfig, stream: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, stream])


def assign_families(rng: np.random.Generator, hosts: int, family_set: FamilySet = FAMILY_SETS["tuned"]) -> np.ndarray:
    """Family of every series (host by host, resources in RESOURCES order).

    The set's whole-host family (late_joiner, young_ramp) takes whole hosts; the other families take their
    share of series (at least one while more than half the fleet is still calm), those with a resource
    affinity (leak, fill, batch, close, resize) from their own resources first; calm takes the rest."""
    n = hosts * len(RESOURCES)
    family = np.full(n, "calm", dtype=object)
    resource = np.tile(np.array(RESOURCES), hosts)
    whole = family_set.whole_host
    joiners = rng.choice(hosts, size=min(hosts, max(1, round(family_set.families[whole][0] * hosts))), replace=False)
    family[(joiners[:, None] * len(RESOURCES) + np.arange(len(RESOURCES))).ravel()] = whole
    for name, (share, _) in family_set.families.items():
        if name in ("calm", whole):
            continue
        free = np.flatnonzero(family == "calm")
        wanted = round(share * n) or (1 if free.size > n / 2 else 0)
        preferred = np.isin(resource[free], family_set.affinity.get(name, RESOURCES))
        ranked = np.concatenate([rng.permutation(free[preferred]), rng.permutation(free[~preferred])])
        family[ranked[: min(wanted, free.size)]] = name
    return family


def inventory_frame(rng: np.random.Generator, config: StressConfig) -> pl.DataFrame:
    """The own-fleet inventory: seed-tagged host ids, owners drawn from a small company, sizes from the
    usual machine shapes."""
    apps = [(department, code, manager) for department, pairs in COMPANY.items() for code, manager in pairs]
    app = rng.integers(0, len(apps), config.hosts)
    host_ids = [f"sf{config.seed}-{number:04d}" for number in range(1, config.hosts + 1)]
    cores = rng.choice(np.array([4, 8, 16, 32, 64]), config.hosts)
    return pl.DataFrame(
        {
            "host_id": host_ids,
            "hostname": [f"{host}.stress.example" for host in host_ids],
            "department": [apps[i][0] for i in app],
            "app_code": [apps[i][1] for i in app],
            "app_manager": [apps[i][2] for i in app],
            "region": rng.choice(np.array(REGIONS), config.hosts).tolist(),
            "environment": rng.choice(np.array(["prod", "staging", "dev"]), config.hosts, p=[0.7, 0.2, 0.1]).tolist(),
            "cpu_cores": cores.tolist(),
            "memory_gb": (cores * rng.choice(np.array([2, 4, 8]), config.hosts)).tolist(),
            "storage_gb": rng.choice(np.array([100, 250, 500, 1000, 2000]), config.hosts).tolist(),
        }
    )


class Drawn(NamedTuple):
    """Every series' grid, drawn one family at a time."""

    values: np.ndarray  # (series, days) clipped to [0, 100]: a process that would exceed 100 saturates there
    first_index: np.ndarray  # (series,) first history day index
    gaps: np.ndarray  # (series, history days) designed gaps
    oracle: np.ndarray  # (series,) the oracle's breach probability within the breach window
    #: (3, series, horizon days) the oracle's 80% band (lower, median, upper); NaN where the law is unknown
    oracle_band: np.ndarray
    #: (series,) minutes east of UTC of the series written at local midnight with an offset; NaN for the others
    utc_offset: np.ndarray


def draw_values(config: StressConfig, family: np.ndarray) -> Drawn:
    """Every series' values and the oracle's view of them (:class:`Drawn`), one family grid at a time."""
    calendar = config.calendar
    n = family.shape[0]
    values = np.empty((n, calendar.days))
    first_index = np.zeros(n, dtype=int)
    gaps = np.zeros((n, calendar.history_days), dtype=bool)
    oracle = np.zeros(n)
    oracle_band = np.full((3, n, calendar.horizon_days), np.nan)
    utc_offset = np.full(n, np.nan)
    chosen = config.chosen_set
    for number, (name, (_, draw)) in enumerate(chosen.families.items()):
        members = np.flatnonzero(family == name)
        if members.size == 0:
            continue
        shape = draw(np.random.default_rng([config.seed, chosen.family_stream + number]), members.size, calendar)
        values[members] = shape.values
        first_index[members] = shape.first_index
        if shape.gaps is not None:
            gaps[members] = shape.gaps[:, : calendar.history_days]
        if shape.utc_offset_minutes is not None:
            utc_offset[members] = shape.utc_offset_minutes
        oracle_rng = np.random.default_rng([config.seed, chosen.oracle_stream + number])
        if shape.noise is not None:
            oracle[members] = breach_probability(
                shape.values, shape.noise, calendar.history_days, BREACH_WINDOW_DAYS, BREACH_THRESHOLD, oracle_rng
            )
            oracle_band[:, members] = band(shape.values, shape.noise, calendar.history_days)
        elif shape.future is not None:
            oracle[members], oracle_band[:, members] = simulated(
                shape.future, members.size, calendar.horizon_days, BREACH_WINDOW_DAYS, BREACH_THRESHOLD, oracle_rng
            )
    return Drawn(np.clip(values, 0.0, 100.0), first_index, gaps, oracle, oracle_band, utc_offset)


def first_breach(horizon: np.ndarray) -> np.ndarray:
    """Days after history_end of the first horizon day above the threshold (1 = the first day), 0 if none."""
    above = horizon > BREACH_THRESHOLD
    return np.where(above.any(axis=1), above.argmax(axis=1) + 1, 0)


def history_rows(config: StressConfig, values: np.ndarray, observed: np.ndarray) -> tuple[Rows, dict[str, int]]:
    """The delivered history, series by series and day by day, then soiled. About a quarter of the hosts
    export UTC midnight timestamps instead of dates (both mean that UTC day)."""
    series, day = np.nonzero(observed)
    stamped_host = _rng(config, _TIMESTAMPS).random(config.hosts) < 0.25
    rows = Rows(
        series=series,
        day=day,
        value=np.round(values[series, day], 2),
        upper_case_host=np.zeros(series.size, dtype=bool),
        spelling=np.zeros(series.size, dtype=int),
        stamped=stamped_host[series // len(RESOURCES)],
    )
    return soil_rows(_rng(config, _ROWS), rows, config.rates)


def telemetry_frame(
    rows: Rows, host_ids: np.ndarray, calendar: Calendar, utc_offset: np.ndarray | None = None
) -> pl.DataFrame:
    """The rows as text the way an export spells them: each column gathered from a small lookup table. Rows of
    a series with a UTC offset (``utc_offset``, minutes; NaN for none) are all stamped at local midnight with
    it, re-sent ones included (``2025-06-01T00:00:00+05:30``)."""
    n_series = host_ids.size * len(RESOURCES)
    series_host = pl.Series(np.repeat(host_ids, len(RESOURCES)))
    hosts = pl.concat([series_host, series_host.str.to_uppercase()])
    names = pl.Series([name for resource in RESOURCES for name in (resource, *RESOURCE_SPELLINGS[resource])])
    dates = pl.Series(calendar.iso_dates()[: calendar.history_days])
    stamps = pl.concat([dates, dates + "T00:00:00Z"])
    names_per_resource = 1 + len(RESOURCE_SPELLINGS[RESOURCES[0]])
    ts = stamps.gather(rows.day + calendar.history_days * rows.stamped)
    if utc_offset is not None and not np.isnan(utc_offset).all():
        local = dates.gather(rows.day) + "T00:00:00" + offset_texts(utc_offset).gather(rows.series)
        ts = pl.select(pl.when(pl.lit(local).is_not_null()).then(pl.lit(local)).otherwise(pl.lit(ts))).to_series()
    return pl.DataFrame(
        {
            "host_id": hosts.gather(rows.series + n_series * rows.upper_case_host),
            "resource": names.gather((rows.series % len(RESOURCES)) * names_per_resource + rows.spelling),
            "ts": ts,
            "value": rows.value,
        }
    )


def offset_texts(minutes: np.ndarray) -> pl.Series:
    """ISO 8601 offsets (``+05:30``, ``-08:00``) of minutes east of UTC; null where NaN."""
    east = pl.col("minutes")
    size = east.abs()
    text = (
        pl.when(east < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
        + (size // 60).cast(pl.String).str.zfill(2)
        + ":"
        + (size % 60).cast(pl.String).str.zfill(2)
    )
    minutes_frame = pl.DataFrame({"minutes": pl.Series(minutes).fill_nan(None).cast(pl.Int64)})
    return minutes_frame.select(text.alias("offset")).to_series()


def _series_keys(host_ids: np.ndarray, family: np.ndarray) -> dict[str, pl.Series]:
    return {
        "host_id": pl.Series(np.repeat(host_ids, len(RESOURCES))),
        "resource": pl.Series(np.tile(np.array(RESOURCES), host_ids.size)),
        "family": pl.Series(family.astype(str)),
    }


def truth_frame(
    host_ids: np.ndarray, family: np.ndarray, horizon: np.ndarray, oracle_band: np.ndarray, calendar: Calendar
) -> pl.DataFrame:
    """The clean horizon of every series, one row per series and day (host_id, resource, family, ds, y), with
    the oracle's 80% band (oracle_lower, oracle_median, oracle_upper; null where its law is unknown)."""
    per_day = np.repeat(np.arange(family.size), calendar.horizon_days)
    dates = np.datetime64(calendar.history_end.isoformat(), "D") + np.arange(1, calendar.horizon_days + 1)
    keys = {name: column.gather(per_day) for name, column in _series_keys(host_ids, family).items()}
    oracle = {name: grid.ravel() for name, grid in zip(ORACLE_BAND_COLUMNS, oracle_band, strict=True)}
    return pl.DataFrame({**keys, "ds": np.tile(dates, family.size), "y": horizon.ravel(), **oracle}).with_columns(
        pl.col(list(oracle)).fill_nan(None)
    )


def series_frame(
    host_ids: np.ndarray,
    family: np.ndarray,
    first_index: np.ndarray,
    breach_day: np.ndarray,
    oracle: np.ndarray,
    calendar: Calendar,
) -> pl.DataFrame:
    """One row per series: its family, first history day, true breach (null if none in the horizon) and the
    oracle's probability of a breach within the breach window (``stress.oracle``)."""
    days = pl.col("days_to_true_breach")
    return pl.DataFrame(
        {
            **_series_keys(host_ids, family),
            "first_day": np.datetime64(calendar.history_start.isoformat(), "D") + first_index,
            "days_to_true_breach": breach_day.astype(np.int32),
            # NaN (a law the oracle does not know) is written null: no probability, not a 0.
            "oracle_breach_probability": pl.Series(np.round(oracle, 4)).fill_nan(None),
        }
    ).select(
        "host_id",
        "resource",
        "family",
        "first_day",
        pl.when(days > 0)
        .then(pl.lit(calendar.history_end) + pl.duration(days=days))
        .cast(pl.Date)
        .alias("true_breach_date"),
        pl.when(days > 0).then(days).alias("days_to_true_breach"),
        "oracle_breach_probability",
    )


def build_stress_fleet(config: StressConfig) -> StressFleet:
    """The whole stress fleet in memory (see the package docstring for the families and the files)."""
    config.validate()
    calendar = config.calendar
    inventory = inventory_frame(_rng(config, _INVENTORY), config)
    host_ids = inventory["host_id"].to_numpy().astype(str)
    family = (
        assign_families(_rng(config, _ASSIGN), config.hosts, config.chosen_set)
        if config.families is None
        else np.array(config.families, dtype=object)
    )
    values, first_index, gaps, oracle, oracle_band, utc_offset = draw_values(config, family)

    lost, lost_counts = missing_days(_rng(config, _MISSING), calendar, first_index, config.rates)
    history_days = np.arange(calendar.history_days)[None, :]
    observed = (history_days >= first_index[:, None]) & ~gaps & ~lost
    rows, row_counts = history_rows(config, values[:, : calendar.history_days], observed)
    telemetry = telemetry_frame(rows, host_ids, calendar, utc_offset)

    horizon = values[:, calendar.history_days :]
    breach_day = first_breach(horizon)
    truth = truth_frame(host_ids, family, horizon, oracle_band, calendar)
    series = series_frame(host_ids, family, first_index, breach_day, oracle, calendar)
    has_breach = breach_day > 0

    family_counts = {name: int((family == name).sum()) for name in config.chosen_set.families}
    # The tuned set's manifest keeps its keys (same bytes as before the option); the others say which set.
    family_set = {} if config.family_set == "tuned" else {"family_set": config.family_set}
    manifest: dict[str, object] = {
        **family_set,
        "seed": config.seed,
        "hosts": config.hosts,
        "series": int(family.size),
        "history_start": calendar.history_start.isoformat(),
        "history_end": calendar.history_end.isoformat(),
        "history_days": calendar.history_days,
        "horizon_start": (calendar.history_end + timedelta(days=1)).isoformat(),
        "horizon_days": calendar.horizon_days,
        "breach_threshold": int(BREACH_THRESHOLD),
        "breach_window_days": BREACH_WINDOW_DAYS,
        "family_counts": family_counts,
        "true_breaches_within_90_days": int(((breach_day > 0) & (breach_day <= BREACH_WINDOW_DAYS)).sum()),
        # What an oracle would expect (the sum of its probabilities): the true count above is one draw around it.
        "oracle_expected_breaches_within_90_days": round(float(np.nansum(oracle)), 1),
        "true_breaches_within_horizon": int(has_breach.sum()),
        "telemetry_rows": telemetry.height,
        "dirt": {**lost_counts, **row_counts},
    }
    return StressFleet(inventory=inventory, telemetry=telemetry, truth=truth, series=series, manifest=manifest)


def write_stress_fleet(fleet: StressFleet, out: Path) -> dict[str, Path]:
    """Write the five files into ``out`` (created if needed); returns their paths by name."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "inventory": out / "inventory.csv",
        "telemetry": out / "telemetry.parquet",
        "truth": out / "truth.parquet",
        "series": out / "series.parquet",
        "manifest": out / "manifest.json",
    }
    fleet.inventory.write_csv(paths["inventory"])
    for name in ("telemetry", "truth", "series"):
        getattr(fleet, name).write_parquet(paths[name], compression="zstd")
    paths["manifest"].write_text(json.dumps(fleet.manifest, indent=2) + "\n")
    return paths


def generate_stress_fleet(config: StressConfig, out: Path) -> dict[str, object]:
    """Build and write a stress fleet; returns its manifest (with the seconds it took)."""
    started = time.perf_counter()
    fleet = build_stress_fleet(config)
    write_stress_fleet(fleet, out)
    seconds = time.perf_counter() - started
    log.info(
        "stress fleet: %d hosts, %s telemetry rows, %d true breaches within 90 days, written to %s in %.1f s",
        config.hosts,
        f"{fleet.telemetry.height:,}",
        fleet.manifest["true_breaches_within_90_days"],
        out,
        seconds,
    )
    return {**fleet.manifest, "seconds": round(seconds, 2)}
