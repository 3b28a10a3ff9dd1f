"""Reference data the generator shares with dbt: the DNA catalog and the business hierarchy.

Both live in ``seeds/`` as CSV files that people edit by hand; dbt loads the same files as seeds,
so the generator and the warehouse can never disagree about which departments or DNA exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

#: Scenarios the telemetry generator knows how to draw. A catalog row naming anything else is an error.
KNOWN_SCENARIOS: frozenset[str] = frozenset(
    {"STEADY_GROWTH", "SEASONAL", "CAPACITY_BREACH", "BURSTY", "BLACK_SWAN", "IDLE", "DECLINING"}
)
KNOWN_VARIANTS: frozenset[str] = frozenset({"NORMAL", "EXTREME"})
HIERARCHY_COLUMNS: tuple[str, ...] = ("app_code", "app_name", "department", "app_manager", "cost_center")


class GeneratorInputError(ValueError):
    """Bad generator input: the message names the problem and what to do about it."""


@dataclass(frozen=True)
class ReferenceData:
    """DNA catalog (scenario, variant, normalised weight) and business hierarchy."""

    dna: pl.DataFrame
    hierarchy: pl.DataFrame


def _read_csv(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise GeneratorInputError(f"seed file {path} not found: run from the project root or pass --seeds-dir")
    return pl.read_csv(path, infer_schema_length=0)  # all strings: we cast deliberately below


def load_dna_catalog(path: Path) -> pl.DataFrame:
    """Read and validate ``scenario_catalog.csv``; returns scenario, variant, weight (summing to 1)."""
    raw = _read_csv(path)
    missing = {"scenario", "variant", "weight"} - set(raw.columns)
    if missing:
        raise GeneratorInputError(f"{path.name} lacks column(s) {sorted(missing)}")
    dna = raw.select(
        pl.col("scenario").str.strip_chars().str.to_uppercase(),
        pl.col("variant").str.strip_chars().str.to_uppercase(),
        pl.col("weight").str.strip_chars().cast(pl.Float64, strict=False),
    )
    if dna.height == 0:
        raise GeneratorInputError(f"{path.name} has no DNA rows: add at least one scenario,variant,weight line")
    unknown = dna.filter(
        ~pl.col("scenario").is_in(sorted(KNOWN_SCENARIOS)) | ~pl.col("variant").is_in(sorted(KNOWN_VARIANTS))
    )
    if unknown.height:
        combos = ", ".join(f"{s} x {v}" for s, v in unknown.select("scenario", "variant").iter_rows())
        raise GeneratorInputError(
            f"{path.name} names unknown DNA {combos}; known scenarios: {', '.join(sorted(KNOWN_SCENARIOS))}; "
            f"variants: {', '.join(sorted(KNOWN_VARIANTS))}"
        )
    if dna["weight"].null_count():
        raise GeneratorInputError(f"{path.name} has a weight that is not a number")
    if (dna["weight"] < 0).any():
        raise GeneratorInputError(f"{path.name} has a negative weight: weights must be >= 0")
    total = float(dna["weight"].sum())
    if not total > 0:
        raise GeneratorInputError(f"{path.name} weights sum to {total:g}: they must sum to a positive number")
    if dna.select("scenario", "variant").is_duplicated().any():
        raise GeneratorInputError(f"{path.name} lists a scenario x variant twice: keep one row per combination")
    return dna.with_columns(pl.col("weight") / total)


def load_hierarchy(path: Path) -> pl.DataFrame:
    """Read and validate ``business_hierarchy.csv`` (one row per app code)."""
    raw = _read_csv(path)
    missing = set(HIERARCHY_COLUMNS) - set(raw.columns)
    if missing:
        raise GeneratorInputError(f"{path.name} lacks column(s) {sorted(missing)}")
    hierarchy = raw.select([pl.col(c).str.strip_chars() for c in HIERARCHY_COLUMNS])
    if hierarchy.height == 0:
        raise GeneratorInputError(f"{path.name} has no rows: add at least one application")
    if hierarchy["app_code"].is_duplicated().any():
        raise GeneratorInputError(f"{path.name} lists an app_code twice: app codes must be unique")
    return hierarchy


def load_reference_data(seeds_dir: Path) -> ReferenceData:
    return ReferenceData(
        dna=load_dna_catalog(seeds_dir / "scenario_catalog.csv"),
        hierarchy=load_hierarchy(seeds_dir / "business_hierarchy.csv"),
    )
