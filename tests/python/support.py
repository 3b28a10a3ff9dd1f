"""Helpers shared by the test modules (importable: tests/python is on pytest's pythonpath)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from bench.daily_refresh import REFINERY_SELECTION

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SMALL_FLEET_HOSTS = 12
#: The end-to-end fleet (conftest.pipeline_build): built once per session, shared by test_pipeline and the
#: dashboard's real-build checks.
PIPELINE_HOSTS = 30
PIPELINE_SEED = 5
#: Set by .ci/run: the checks that need a real build or Chromium must run there (fail, never skip).
IN_CI = bool(os.environ.get("HORIZONSCALE_CI"))


def horizonscale(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess, the way a user would."""
    env = {**os.environ, "HORIZONSCALE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "python_engines.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def isolated_env(data_dir: Path, work: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI or dbt run on ``data_dir`` with dbt's target and logs under ``work``."""
    return {
        **os.environ,
        "HORIZONSCALE_DATA_DIR": str(data_dir),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        **extra,
    }


def start_cli(args: list[str], data_dir: Path, work: Path, *, capture: bool = False) -> subprocess.Popen[str]:
    """``horizonscale <args>`` started in the background, isolated under ``work``: output captured as text, or
    discarded (a long build whose output nobody reads must not fill a pipe and stall)."""
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "python_engines.cli", *args],
        cwd=PROJECT_ROOT,
        env=isolated_env(data_dir, work),
        stdout=output,
        stderr=output,
        text=True,
    )


def run_isolated(command: list[str], data_dir: Path, work: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """``horizonscale ...`` (command starting with "horizonscale") or ``dbt ...``, isolated under ``work``."""
    program = (
        [sys.executable, "-m", "python_engines.cli"]
        if command[0] == "horizonscale"
        else [str(Path(sys.executable).with_name("dbt"))]
    )
    return subprocess.run(
        [*program, *command[1:]],
        cwd=PROJECT_ROOT,
        env=isolated_env(data_dir, work, **extra),
        capture_output=True,
        text=True,
        check=False,
    )


def registered_engines() -> list[dict[str, Any]]:
    """The engine registry as dbt_project.yml declares it (var ``engines``), in its order."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    return list(project["vars"]["engines"])


#: The incremental refinery and the quarantine tables with their data tests (raw = used + rejected among them),
#: without the unit tests (they run in other tests): a build of just the part that grows with every load.
INCREMENTAL_REFINERY = ["dbt", "build", *REFINERY_SELECTION]  # the selection bench.daily_refresh times
