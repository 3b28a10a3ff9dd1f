"""The serving copy as a product: what it holds, the promises its marts make, and who can open it.

- Every model consumers read is ``access: public`` in a group with an owner and (SQL models) has an enforced
  contract with a data type on every column; the staging and intermediate models are private or protected.
- The serving copy's ``main`` holds exactly the public table models and the seeds: no ``int_*`` or ``stg_*``.
- A DuckDB 1.x client opens it: a separate venv with ``duckdb<2`` (created on first use under
  ``.venv-duckdb1/``, gitignored, reused afterwards) queries the suite's own published 30-host build in a
  subprocess and gets the same tables and row counts as DuckDB 2.0. In CI (HORIZONSCALE_CI=1) a client that cannot
  be installed fails the test; elsewhere it skips, saying why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from support import IN_CI, PROJECT_ROOT

from python_engines.paths import ProjectPaths
from python_engines.serving import is_plumbing, serving_file

#: The DuckDB 1.x releases the serving copy must open in: the oldest that reads the v1.2.0 storage format and the
#: newest 1.x (what DBeaver's driver and the node / .NET packages ship as of 2026-12).
DUCKDB1_VERSIONS: tuple[str, ...] = ("1.2.2", "1.5.6")
CLIENT_ROOT = PROJECT_ROOT / ".venv-duckdb1"
#: dbt's Python models: dbt does not enforce contracts on them.
PYTHON_MODELS = frozenset(path.stem for path in (PROJECT_ROOT / "models").rglob("*.py"))
#: Marts the test compares across clients (row counts), the ones the dashboard and the reports lean on.
COUNTED = ("forecasts", "capacity_risks", "fleet_health", "department_risk_summary", "hosts", "rightsizing")

CLIENT_SCRIPT = """
import json, sys
import duckdb
serving, warehouse, counted = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
out = {"version": duckdb.__version__}
with duckdb.connect(serving, read_only=True) as con:
    out["tables"] = sorted(r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main'"
    ).fetchall())
    out["counts"] = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in counted}
    out["soonest"] = con.execute(
        "select hostname, resource, days_to_breach from capacity_risks order by days_to_breach, hostname, resource "
        "limit 3"
    ).fetchall()
try:
    duckdb.connect(warehouse, read_only=True).close()
    out["warehouse"] = "opened"
except Exception as error:
    out["warehouse"] = str(error)
print(json.dumps(out, default=str))
"""


def _models() -> dict[str, dict[str, Any]]:
    """Every model's yml entry (anchors resolved), by name."""
    models: dict[str, dict[str, Any]] = {}
    for path in sorted((PROJECT_ROOT / "models").rglob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            models[model["name"]] = model
    return models


def _materialization(name: str) -> str:
    sql = next((PROJECT_ROOT / "models").rglob(f"{name}.sql"), None)
    if sql is not None and "materialized='view'" in sql.read_text(encoding="utf-8").replace('"', "'"):
        return "view"
    return "view" if name.startswith("stg_") else "table"  # dbt_project.yml: staging is views, the rest tables


def test_groups_have_owners_and_every_model_is_in_one() -> None:
    groups = yaml.safe_load((PROJECT_ROOT / "models" / "groups.yml").read_text(encoding="utf-8"))["groups"]
    assert all(group["owner"].get("email") and group["owner"].get("name") for group in groups)
    names = {group["name"] for group in groups}
    for name, model in _models().items():
        config = model.get("config") or {}
        assert config.get("group") in names, f"{name} is in no group"
        expected = {"private", "protected"} if is_plumbing(name) else {"public"}
        assert config.get("access") in expected, f"{name}: access {config.get('access')}, expected {expected}"


def test_every_public_sql_model_has_an_enforced_contract_with_types() -> None:
    for name, model in _models().items():
        config = model.get("config") or {}
        if config.get("access") != "public" or name in PYTHON_MODELS:
            continue
        assert (config.get("contract") or {}).get("enforced") is True, f"{name} has no enforced contract"
        untyped = [column["name"] for column in model.get("columns") or [] if not column.get("data_type")]
        assert model.get("columns") and not untyped, f"{name}: columns without data_type: {untyped}"


def _main_tables(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main'"
        ).fetchall()
    return sorted(table for (table,) in rows)


def test_serving_copy_holds_the_product_not_the_plumbing(pipeline_build: tuple[ProjectPaths, Path]) -> None:
    paths, _ = pipeline_build
    tables = set(_main_tables(serving_file(paths)))
    public_tables = {
        name
        for name, model in _models().items()
        if (model.get("config") or {}).get("access") == "public" and _materialization(name) == "table"
    }
    seeds = {path.stem for path in (PROJECT_ROOT / "seeds").glob("*.csv")}
    assert not {table for table in tables if is_plumbing(table)}
    assert tables == public_tables | seeds | {"_published"}
    with duckdb.connect(str(serving_file(paths)), read_only=True) as con:
        (storage,) = con.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = current_database()"
        ).fetchone()
    assert storage.startswith("v1.2.0"), storage


def _install_client(version: str) -> Path:
    """A venv with duckdb==version under .venv-duckdb1/ (built once, in a temp dir renamed into place)."""
    target = CLIENT_ROOT / f"duckdb-{version}"
    python = target / "bin" / "python"
    if (target / ".installed").is_file():
        return python
    building = CLIENT_ROOT / f".duckdb-{version}.partial"
    shutil.rmtree(building, ignore_errors=True)
    CLIENT_ROOT.mkdir(exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    # No pip of its own (bootstrapping one cost more than the install): this venv's pip installs into it.
    steps = (
        [base, "-m", "venv", "--without-pip", str(building)],
        [sys.executable, "-m", "pip", "--python", str(building / "bin" / "python"), "install", "--quiet",
         "--disable-pip-version-check", f"duckdb=={version}"],
    )  # fmt: skip
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False, timeout=600)
        if result.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(f"{' '.join(step[-3:])} failed (exit {result.returncode}): {result.stderr[-1500:]}")
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)  # the venv's scripts name the .partial path; we only ever run bin/python -m ...
    (target / ".installed").write_text(version + "\n")
    return python


@pytest.fixture(scope="module", params=DUCKDB1_VERSIONS, ids=lambda v: f"duckdb-{v}")
def duckdb1_python(request: pytest.FixtureRequest) -> Path:
    try:
        return _install_client(request.param)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        message = f"cannot install the DuckDB {request.param} client under {CLIENT_ROOT}: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def test_a_duckdb1_client_opens_the_serving_copy(
    pipeline_build: tuple[ProjectPaths, Path], duckdb1_python: Path
) -> None:
    paths, _ = pipeline_build
    serving = serving_file(paths)
    result = subprocess.run(
        [str(duckdb1_python), "-c", CLIENT_SCRIPT, str(serving), str(paths.warehouse), ",".join(COUNTED)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["version"].startswith("1."), seen["version"]
    with duckdb.connect(str(serving), read_only=True) as con:
        counts = {table: con.execute(f'select count(*) from "{table}"').fetchone()[0] for table in COUNTED}
        soonest = con.execute(
            "select hostname, resource, days_to_breach from capacity_risks order by days_to_breach, hostname, "
            "resource limit 3"
        ).fetchall()
    assert seen["tables"] == _main_tables(serving)
    assert seen["counts"] == counts and counts["forecasts"] > 0 and counts["hosts"] > 0
    assert [tuple(row) for row in seen["soonest"]] == [tuple(row) for row in soonest]
    # The warehouse dbt writes keeps DuckDB 2.0's own format, which no 1.x client reads: the option matters.
    assert "version" in seen["warehouse"].lower(), seen["warehouse"]
