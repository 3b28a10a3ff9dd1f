"""Shared pytest fixtures: real DuckDB files and real Parquet, generated into temp directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import PIPELINE_HOSTS, PIPELINE_SEED, PROJECT_ROOT, SMALL_FLEET_HOSTS, run_isolated

from python_engines.paths import ProjectPaths
from python_engines.synthetic import GeneratorConfig, generate

# XGBoost's OpenMP threads spin while they wait (libgomp's default). On this shared 2-core machine that made a
# 2-thread training 4x slower than a 1-thread one (100,000 rows: 57-72 s against 15 s, load ~9), and in the last
# clean-clone run the XGBoost model took 91-98 s in the builds with two threads, 53-58 s with one. Sleeping waiters
# (set before anything loads libgomp; every build the tests start inherits it): the 2-thread training took 15 s.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: The modules that read the session's 30-host build (pipeline_build; test_dashboard through getfixturevalue).
PIPELINE_BUILD_MODULES = frozenset({"test_pipeline", "test_serving_product", "test_dashboard"})


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Two pytest-xdist workers (pyproject: --numprocesses=2 --dist=loadscope) share the suite by module: a
    module's tests stay on one worker, so a module-scoped build is made once, and the modules that read the
    session's 30-host build count as one, so that build (two minutes) is made once too (session fixtures are
    per worker). A scheduler, not xdist_group marks: --dist=loadgroup renames each test's nodeid, which pytest 9
    no longer reads, and every module was then spread over both workers (its builds made twice)."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "pipeline_build" if Path(module).stem in PIPELINE_BUILD_MODULES else module

    return ModuleGroups(config, log)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def small_fleet(tmp_path_factory: pytest.TempPathFactory) -> ProjectPaths:
    """A 12-host synthetic fleet (seed 7) shared read-only by the tests of one session."""
    paths = ProjectPaths.discover(tmp_path_factory.mktemp("small_fleet"), root=PROJECT_ROOT)
    generate(GeneratorConfig(hosts=SMALL_FLEET_HOSTS, seed=7), paths)
    return paths


@pytest.fixture(scope="session")
def pipeline_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProjectPaths, Path]:
    """A real `horizonscale generate` (30 hosts, seed 5) + `horizonscale build` (the whole DAG, serving copy,
    reports in <work>/reports): (paths, work dir). Built once per session: test_pipeline.py and the dashboard's
    real-build checks share it, and tests that rebuild it must leave the same published data behind."""
    work = tmp_path_factory.mktemp("pipeline")
    paths = ProjectPaths(root=PROJECT_ROOT, data_dir=work / "data")
    for command in (
        ["generate", "--hosts", str(PIPELINE_HOSTS), "--seed", str(PIPELINE_SEED)],
        ["build", "--out", str(work / "reports")],
    ):
        result = run_isolated(["horizonscale", *command], paths.data_dir, work)
        assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return paths, work
