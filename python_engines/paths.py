"""Where things live. One place, so the CLI, dbt profile and tests agree.

``HORIZONSCALE_DATA_DIR`` moves the whole warehouse (DuckDB file, Parquet lake, serving copy); dbt's
profile reads the same variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WAREHOUSE_FILE = "horizonscale.duckdb"
#: DuckDB's memory_limit for every large job, dbt's (profiles.yml) and ours outside dbt: spill past it instead of
#: growing with the fleet. The same variable and default as profiles.yml.
DUCKDB_MEMORY_ENV, DEFAULT_DUCKDB_MEMORY = "HORIZONSCALE_DUCKDB_MEMORY", "5GB"


def duckdb_memory_limit() -> str:
    """The memory_limit DuckDB connections of large jobs use (HORIZONSCALE_DUCKDB_MEMORY, default 5GB)."""
    return os.environ.get(DUCKDB_MEMORY_ENV, "").strip() or DEFAULT_DUCKDB_MEMORY


def find_project_root(start: Path | None = None) -> Path:
    """The directory holding dbt_project.yml: the working directory or one of its parents,
    else the checkout this package was installed from (editable install)."""
    candidates = [start or Path.cwd()]
    candidates += list(candidates[0].resolve().parents)
    candidates.append(Path(__file__).resolve().parents[1])
    for candidate in candidates:
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    raise FileNotFoundError("no dbt_project.yml found: run horizonscale from the HorizonScale project directory")


@dataclass(frozen=True)
class ProjectPaths:
    root: Path
    data_dir: Path

    @classmethod
    def discover(cls, data_dir: str | Path | None = None, root: Path | None = None) -> ProjectPaths:
        project = root or find_project_root()
        chosen = Path(data_dir or os.environ.get("HORIZONSCALE_DATA_DIR") or "data")
        return cls(root=project, data_dir=chosen if chosen.is_absolute() else project / chosen)

    @property
    def warehouse(self) -> Path:
        return self.data_dir / WAREHOUSE_FILE

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def history_dir(self) -> Path:
        """The forecast history (Parquet per snapshot; dbt var history_dir's default): outlives the warehouse."""
        return self.data_dir / "forecast_history"

    @property
    def seeds_dir(self) -> Path:
        return self.root / "seeds"

    @property
    def ddl(self) -> Path:
        return self.root / "create_tables.sql"
