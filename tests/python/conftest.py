"""Shared pytest fixtures: real DuckDB files and real Parquet, generated into temp directories."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import PROJECT_ROOT, SMALL_FLEET_HOSTS

from python_engines.paths import ProjectPaths
from python_engines.synthetic import GeneratorConfig, generate


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def small_fleet(tmp_path_factory: pytest.TempPathFactory) -> ProjectPaths:
    """A 12-host synthetic fleet (seed 7) shared read-only by the tests of one session."""
    paths = ProjectPaths.discover(tmp_path_factory.mktemp("small_fleet"), root=PROJECT_ROOT)
    generate(GeneratorConfig(hosts=SMALL_FLEET_HOSTS, seed=7), paths)
    return paths
