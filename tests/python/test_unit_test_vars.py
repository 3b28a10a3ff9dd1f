"""Every dbt unit test pins the vars its model reads, so a user's `--vars` never changes what it expects.

A build with `--vars '{breach_alert_min_days: 3}'` (the README's alert-tuning example) runs the unit tests
again (a new fingerprint, python_engines/unit_test_memo.py), and dbt gives them the user's vars wherever a
test does not override them: eleven tests then expected the default rule and failed the build, so the alert
rule could not be tuned through `horizonscale build`. Here `dbt parse` gives the manifest; each unit test's
model and the macros it calls (recursively) name the vars read, and each must appear under the test's
`overrides: vars:` (paths and the history window excepted: the fixtures give those as inputs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from support import PROJECT_ROOT, run_isolated

#: Vars that are paths or the history window: unit tests read none of them through their fixtures' values.
NOT_PINNED = frozenset({"lake_dir", "history_dir", "engines", "horizonscale", "history_start", "history_end"})
VAR_CALL = re.compile(r"""var\(\s*['"](\w+)['"]""")


def _macro_vars(macros: dict, name: str, seen: set[str]) -> set[str]:
    if name in seen or name not in macros:
        return set()
    seen.add(name)
    macro = macros[name]
    found = set(VAR_CALL.findall(macro.get("macro_sql", "")))
    for called in macro.get("depends_on", {}).get("macros", []):
        found |= _macro_vars(macros, called, seen)
    return found


def unpinned_vars(manifest: dict, project_vars: set[str]) -> dict[str, list[str]]:
    """Per unit test, the project vars its model reads that its overrides do not pin."""
    missing = {}
    for test in manifest["unit_tests"].values():
        (model,) = [uid for uid in test["depends_on"]["nodes"] if uid.split(".")[-1] == test["model"]]
        node = manifest["nodes"][model]
        read = set(VAR_CALL.findall(node["raw_code"]))
        seen: set[str] = set()
        for macro in node["depends_on"]["macros"]:
            read |= _macro_vars(manifest["macros"], macro, seen)
        pinned = set(((test.get("overrides") or {}).get("vars")) or {})
        gaps = sorted((read & project_vars) - NOT_PINNED - pinned)
        if gaps:
            missing[f"{test['model']}::{test['name']}"] = gaps
    return missing


def test_every_unit_test_pins_the_vars_its_model_reads(tmp_path: Path) -> None:
    parsed = run_isolated(["dbt", "parse", "--quiet"], tmp_path / "data", tmp_path)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    project_vars = set(yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"])
    assert unpinned_vars(manifest, project_vars) == {}
