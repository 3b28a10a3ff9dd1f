"""`dbt source freshness` on the loads: thresholds from vars, a fleet that stopped arriving errors, either fleet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from support import PROJECT_ROOT, run_isolated

from python_engines.paths import ProjectPaths
from python_engines.synthetic import GeneratorConfig, generate


def test_source_freshness_follows_the_lake(tmp_path: Path) -> None:
    paths = ProjectPaths.discover(tmp_path / "data", root=PROJECT_ROOT)
    today = datetime.now(UTC).date()
    generate(GeneratorConfig(hosts=10, seed=2, start=today - timedelta(days=30), end=today - timedelta(days=1)), paths)
    fresh = run_isolated(["dbt", "source", "freshness"], paths.data_dir, tmp_path)
    assert fresh.returncode == 0, fresh.stdout[-3000:]
    assert "PASS freshness of raw.load_audit" in fresh.stdout

    generate(GeneratorConfig(hosts=10, seed=2, start=today - timedelta(days=60), end=today - timedelta(days=10)), paths)
    stale = run_isolated(["dbt", "source", "freshness"], paths.data_dir, tmp_path)
    assert stale.returncode != 0
    assert "ERROR STALE freshness of raw.load_audit" in stale.stdout
    relaxed = run_isolated(
        ["dbt", "source", "freshness", "--vars", "{freshness_warn_hours: 24, freshness_error_hours: 720}"],
        paths.data_dir,
        tmp_path,
    )
    assert relaxed.returncode == 0, relaxed.stdout[-3000:]
    assert "WARN freshness of raw.load_audit" in relaxed.stdout


def test_source_freshness_checks_your_own_fleet_too(tmp_path: Path) -> None:
    """The check once sat on the synthetic lake alone: an own fleet loaded a minute earlier read ERROR STALE and
    its own feed was never checked."""
    inventory, telemetry = tmp_path / "inventory.csv", tmp_path / "telemetry.csv"
    inventory.write_text("host_id,hostname,department,app_code,app_manager,region\nh1,web-1,Retail,RB,Ann,EMEA\n")
    telemetry.write_text("host_id,resource,ts,value\nh1,cpu,2025-01-01,12.5\n")
    data = tmp_path / "data"
    loaded = run_isolated(
        ["horizonscale", "load", "--inventory", str(inventory), "--telemetry", str(telemetry)], data, tmp_path
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    fresh = run_isolated(["dbt", "source", "freshness"], data, tmp_path)
    assert fresh.returncode == 0, fresh.stdout[-3000:]
    assert "PASS freshness of raw.load_audit" in fresh.stdout
