"""Helpers shared by the test modules (importable: tests/python is on pytest's pythonpath)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SMALL_FLEET_HOSTS = 12


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
