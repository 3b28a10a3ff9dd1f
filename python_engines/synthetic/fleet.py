"""The synthetic enterprise inventory: hosts with hardware, ownership and behavioral DNA."""

from __future__ import annotations

import uuid
from datetime import datetime

import numpy as np
import polars as pl

from python_engines.synthetic.catalog import GeneratorInputError, ReferenceData

RESOURCES: tuple[str, ...] = ("cpu", "memory", "disk", "network")
REGIONS: tuple[str, ...] = ("AMER-EAST", "AMER-WEST", "EMEA-WEST", "EMEA-CENTRAL", "APAC-SOUTHEAST")
REGION_WEIGHTS: tuple[float, ...] = (0.30, 0.15, 0.25, 0.15, 0.15)
ENVIRONMENTS: tuple[str, ...] = ("PROD", "UAT", "DEV", "DR")
ENVIRONMENT_WEIGHTS: tuple[float, ...] = (0.60, 0.15, 0.15, 0.10)
CPU_CORES: tuple[int, ...] = (4, 8, 16, 32, 64)
MEMORY_GB: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
STORAGE_GB: tuple[int, ...] = (100, 250, 500, 1000, 2000, 4000)
#: Which resource carries a host's DNA most strongly (network rarely fills up first).
PRIMARY_RESOURCE_WEIGHTS: tuple[float, ...] = (0.30, 0.30, 0.30, 0.10)


def allocate_dna_counts(weights: np.ndarray, hosts: int) -> np.ndarray:
    """Hosts per DNA combination: one of each, the rest by largest remainder of the weights.

    Guarantees every combination is present (the exit audit demands it) and sums exactly to ``hosts``.
    """
    combos = len(weights)
    if hosts < combos:
        raise GeneratorInputError(
            f"--hosts {hosts} is too small: the DNA catalog has {combos} combinations and every one needs a host"
        )
    spare = hosts - combos
    ideal = weights * spare
    counts = np.floor(ideal).astype(np.int64)
    shortfall = spare - int(counts.sum())
    # Largest remainders first; ties resolved by catalog order (stable sort) so the result is deterministic.
    order = np.argsort(-(ideal - counts), kind="stable")
    counts[order[:shortfall]] += 1
    return counts + 1


def host_uuids(rng: np.random.Generator, hosts: int) -> list[str]:
    """Lower-case version-4 UUIDs drawn from the seeded generator (same seed, same ids)."""
    raw = rng.bytes(16 * hosts)
    return [str(uuid.UUID(bytes=raw[i * 16 : (i + 1) * 16], version=4)) for i in range(hosts)]


def build_fleet(reference: ReferenceData, hosts: int, seed: int, loaded_at: datetime) -> pl.DataFrame:
    """One row per host, deterministic in ``seed``; columns match ``raw.hosts`` in create_tables.sql."""
    if hosts <= 0:
        raise GeneratorInputError(f"--hosts must be a positive number, got {hosts}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    dna = reference.dna
    counts = allocate_dna_counts(dna["weight"].to_numpy(), hosts)
    dna_index = rng.permutation(np.repeat(np.arange(dna.height), counts))
    hierarchy = reference.hierarchy
    app_index = rng.integers(0, hierarchy.height, hosts)
    environment = rng.choice(ENVIRONMENTS, hosts, p=ENVIRONMENT_WEIGHTS)
    region = rng.choice(REGIONS, hosts, p=REGION_WEIGHTS)
    app_codes = hierarchy["app_code"].to_numpy()[app_index]
    hostnames = [
        f"{app.lower()}-{env.lower()}-{number:05d}"
        for app, env, number in zip(app_codes, environment, range(1, hosts + 1), strict=True)
    ]
    return pl.DataFrame(
        {
            "host_id": host_uuids(rng, hosts),
            "hostname": hostnames,
            "cpu_cores": rng.choice(CPU_CORES, hosts).astype(np.int32),
            "memory_gb": rng.choice(MEMORY_GB, hosts).astype(np.int32),
            "storage_gb": rng.choice(STORAGE_GB, hosts).astype(np.int32),
            "region": region,
            "environment": environment,
            "department": hierarchy["department"].to_numpy()[app_index],
            "app_code": app_codes,
            "app_manager": hierarchy["app_manager"].to_numpy()[app_index],
            "scenario": dna["scenario"].to_numpy()[dna_index],
            "variant": dna["variant"].to_numpy()[dna_index],
            "primary_resource": rng.choice(RESOURCES, hosts, p=PRIMARY_RESOURCE_WEIGHTS),
        }
    ).with_columns(pl.lit(loaded_at).alias("loaded_at"))
