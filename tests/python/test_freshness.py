"""`dbt source freshness` on the telemetry lake: thresholds from vars, a fleet that stopped arriving errors."""

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
    assert "PASS freshness of lake.master_daily" in fresh.stdout

    generate(GeneratorConfig(hosts=10, seed=2, start=today - timedelta(days=60), end=today - timedelta(days=10)), paths)
    stale = run_isolated(["dbt", "source", "freshness"], paths.data_dir, tmp_path)
    assert stale.returncode != 0
    assert "ERROR STALE freshness of lake.master_daily" in stale.stdout
    relaxed = run_isolated(
        ["dbt", "source", "freshness", "--vars", "{freshness_warn_hours: 24, freshness_error_hours: 720}"],
        paths.data_dir,
        tmp_path,
    )
    assert relaxed.returncode == 0, relaxed.stdout[-3000:]
    assert "WARN freshness of lake.master_daily" in relaxed.stdout
