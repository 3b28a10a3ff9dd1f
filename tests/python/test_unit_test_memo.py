"""The record that lets a build leave out dbt unit tests: any change to what they test runs them again."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import PROJECT_ROOT

from python_engines import unit_test_memo


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name in ("models", "macros", "tests/dbt"):
        shutil.copytree(PROJECT_ROOT / name, root / name)
    shutil.copy(PROJECT_ROOT / "dbt_project.yml", root / "dbt_project.yml")
    return root


def test_a_change_to_sql_yaml_or_vars_changes_the_fingerprint(tmp_path: Path) -> None:
    root = _project(tmp_path)
    base = unit_test_memo.fingerprint(root, "{forecast_workers: 1}")
    assert unit_test_memo.fingerprint(root, "{forecast_workers: 1}") == base
    assert unit_test_memo.fingerprint(root, "{forecast_workers: 2}") != base
    macro = next((root / "macros").rglob("*.sql"))
    macro.write_text(macro.read_text() + "\n-- edited\n")
    edited = unit_test_memo.fingerprint(root, "{forecast_workers: 1}")
    assert edited != base
    (root / "models" / "new_fixture.yml").write_text("version: 2\n")
    assert unit_test_memo.fingerprint(root, "{forecast_workers: 1}") != edited


def test_the_record_matches_only_its_own_fingerprint(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert not unit_test_memo.unchanged_since_passed(data, "abc")
    unit_test_memo.record_passed(data, "abc")
    assert unit_test_memo.unchanged_since_passed(data, "abc")
    assert not unit_test_memo.unchanged_since_passed(data, "abd")
