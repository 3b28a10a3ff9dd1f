"""The dbt project as a dbt reviewer reads it: no deprecations, every node documented, keys tested, readers declared.

- ``dbt parse`` with dbt-core's JSON-schema checks on prints no deprecation. dbt-duckdb turns those checks off
  (dbt-core runs them for a few adapters only), so a plain parse hid 38 warnings (custom config keys, source
  properties outside config) that Fusion and later dbt releases reject; the test forces them on.
- Every model, seed and source table and every one of their columns has a description; every project macro has
  a description and every argument it documents one too.
- Every model and seed has a uniqueness test on its key (``unique``, ``unique_combination_of_columns`` or
  ``exactly_one_row``) whose columns are also tested ``not_null`` (or carry a not_null constraint).
- Every relation the dashboard's queries, its views, the CSV reports and the Parquet exports read is a
  dependency of an exposure, so the lineage shows who reads a mart before it changes.

All from one ``dbt parse`` (no warehouse needed): a few seconds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from typing import Any

import pytest
from support import PROJECT_ROOT, isolated_env

#: Runs ``dbt parse`` with dbt-core's JSON-schema validations on whatever the adapter.
PARSE_WITH_SCHEMA_CHECKS = """
import sys
import dbt.jsonschemas.jsonschemas as schemas
schemas._can_run_validations = lambda: True
from dbt.cli.main import dbtRunner
result = dbtRunner().invoke(["--no-use-colors", "parse", "--no-partial-parse", "--show-all-deprecations"])
sys.exit(0 if result.success else 1)
"""

#: Models without a uniqueness test of their own, and why: views over the Parquet lake, one row per raw row,
#: whose 1:1 tables test raw_row_id's uniqueness instead of re-reading the lake.
KEYS_TESTED_DOWNSTREAM = {
    "stg_telemetry": "int_telemetry_validated",
    "stg_own_telemetry": "int_own_telemetry_samples",
    "int_fleet_telemetry": "int_telemetry_validated",
}
#: Key columns null by design: the refinery's validated rows keep an unusable value as null and reject the row
#: with a reason (the uniqueness test then applies to the rows that were kept).
NULLABLE_KEYS = {
    ("int_inventory_validated", "host_id"),
    ("int_own_telemetry_samples", "host_id"),
    ("int_own_telemetry_samples", "resource"),
    ("int_own_telemetry_samples", "ts_utc"),
}
UNIQUENESS_TESTS = {"unique", "unique_combination_of_columns", "exactly_one_row"}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    work = tmp_path_factory.mktemp("dbt_parse")
    result = subprocess.run(
        [sys.executable, "-c", PARSE_WITH_SCHEMA_CHECKS],
        cwd=PROJECT_ROOT,
        env=isolated_env(work / "data", work),
        capture_output=True,
        text=True,
        check=False,
    )
    manifest_path = work / "target" / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    return result, manifest


def _project_nodes(manifest: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] in types and node["package_name"] == "horizonscale"
    }


def test_parse_is_silent_with_the_schema_checks_on(parsed: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    result, _ = parsed
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    first = min((output.find(word) for word in ("WARN", "Deprecat") if word in output), default=-1)
    assert first < 0, output[first : first + 3000]


def test_every_node_and_column_is_described(parsed: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    _, manifest = parsed
    missing = []
    nodes = [*_project_nodes(manifest, "model", "seed").values(), *manifest["sources"].values()]
    for node in nodes:
        name = f"{node['resource_type']} {node['name']}"
        if not node["description"].strip():
            missing.append(name)
        missing += [f"{name}.{column}" for column, doc in node["columns"].items() if not doc["description"].strip()]
    for macro in manifest["macros"].values():
        if macro["package_name"] != "horizonscale":
            continue
        if not macro["description"].strip():
            missing.append(f"macro {macro['name']}")
        missing += [f"macro {macro['name']}({a['name']})" for a in macro["arguments"] if not a.get("description")]
    assert not missing, f"{len(missing)} without a description: {missing[:30]}"


def test_every_model_key_is_unique_and_not_null(parsed: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    _, manifest = parsed
    tests: dict[str, list[tuple[str, str | None, dict]]] = defaultdict(list)
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata") and node.get("attached_node"):
            meta = node["test_metadata"]
            tests[node["attached_node"]].append((meta["name"], node.get("column_name"), meta.get("kwargs", {})))
    problems = []
    for name, node in _project_nodes(manifest, "model", "seed").items():
        own = tests[node["unique_id"]]
        keys = [test for test in own if test[0] in UNIQUENESS_TESTS]
        if not keys:
            if name not in KEYS_TESTED_DOWNSTREAM:
                problems.append(f"{name}: no uniqueness test")
            continue
        key_columns = {column for test, column, _ in keys if test == "unique"}
        for test, _, kwargs in keys:
            if test == "unique_combination_of_columns":
                key_columns |= set(kwargs["combination_of_columns"])
        not_null = {column for test, column, _ in own if test == "not_null"}
        not_null |= {
            column
            for column, doc in node["columns"].items()
            if any(constraint["type"] == "not_null" for constraint in doc.get("constraints", []))
        }
        problems += [
            f"{name}.{column}: key column without not_null"
            for column in sorted(key_columns - not_null)
            if (name, column) not in NULLABLE_KEYS
        ]
    assert not problems, problems


def _relations_read(sql_text: str, names: set[str]) -> set[str]:
    return {name for name in names if re.search(rf"\b(?:from|join)\s+{re.escape(name)}\b", sql_text, re.IGNORECASE)}


def test_every_reader_is_an_exposure(parsed: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    from python_engines.report import REPORTS
    from python_engines.serving import PARQUET_EXPORTS

    _, manifest = parsed
    exposed = {
        exposure["name"]: {dependency.split(".")[-1] for dependency in exposure["depends_on"]["nodes"]}
        for exposure in manifest["exposures"].values()
    }
    relations = set(_project_nodes(manifest, "model", "seed"))
    dashboard_code = "\n".join(
        path.read_text(encoding="utf-8") for path in sorted((PROJECT_ROOT / "dashboard").rglob("*.py"))
    )
    requires = set()
    for path in sorted((PROJECT_ROOT / "dashboard" / "views").glob("*.py")):
        match = re.search(r"^REQUIRES = frozenset\(\{([^}]*)\}\)", path.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            requires |= set(re.findall(r'"(\w+)"', match.group(1)))
    alerts = (PROJECT_ROOT / "python_engines" / "alerts.py").read_text(encoding="utf-8")
    readers = {
        ("executive_dashboard", "whatif_command_and_view"): _relations_read(dashboard_code, relations) | requires,
        ("manager_exception_reports",): set(REPORTS),
        ("serving_parquet_exports",): set(PARQUET_EXPORTS),
        ("risk_change_alerts",): _relations_read(alerts, relations) | {"risk_changes"},
    }
    undeclared = {
        names: sorted(read - set().union(*(exposed.get(name, set()) for name in names)))
        for names, read in readers.items()
    }
    assert not any(undeclared.values()), undeclared
