"""Run the dbt unit tests of a build only when what they test has changed since they last passed.

A dbt unit test checks a model's SQL on fixed fixture rows: its result depends on the project's SQL and
YAML (models, macros, data tests, seeds, ``dbt_project.yml``, ``create_tables.sql``), the ``--vars`` of the
build (they are compiled into the SQL) and the versions of dbt, dbt-duckdb and DuckDB, never on the day's
telemetry. dbt's own advice is to keep them out of production runs; a daily refresh on unchanged code would
otherwise pay for 41 of them (about 11 s of a 2,000-host daily build) to learn nothing new.

So a green whole-DAG build that ran them records a fingerprint of those inputs in the data directory
(:data:`MEMO_FILE`), and the next build leaves them out (``--exclude-resource-type unit_test``) when the
fingerprint is the same. Any change of code, vars or versions, a ``--full-refresh`` or a new data directory
runs them again.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

MEMO_FILE = ".unit_tests_passed"
#: What a unit test's result can depend on, relative to the project root (directories are read recursively).
TESTED_INPUTS = ("models", "macros", "tests/dbt", "seeds", "dbt_project.yml", "create_tables.sql")
VERSIONED = ("dbt-core", "dbt-duckdb", "duckdb")
SKIP_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for name in TESTED_INPUTS:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return found


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def fingerprint(root: Path, dbt_vars: str | None) -> str:
    """A hash of everything the project's unit tests depend on (see the module docstring)."""
    digest = hashlib.sha1(f"vars={dbt_vars or ''}".encode())
    for package in VERSIONED:
        digest.update(f"|{package}={_version(package)}".encode())
    for path in _files(root):
        digest.update(f"|{path.relative_to(root).as_posix()}|".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def unchanged_since_passed(data_dir: Path, current: str) -> bool:
    """The unit tests passed on a build with this fingerprint, in this data directory."""
    memo = data_dir / MEMO_FILE
    return memo.is_file() and memo.read_text(encoding="utf-8").strip() == current


def record_passed(data_dir: Path, current: str) -> None:
    (data_dir / MEMO_FILE).write_text(current + "\n", encoding="utf-8")
