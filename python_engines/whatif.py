"""One ad-hoc what-if scenario on the serving copy, by the same SQL the dbt scenario models run.

The formula and the breach / RAG rules live once, as Jinja macros in ``macros/whatif.sql`` (the dbt models in
``models/scenarios`` call them). This module renders that file with plain Jinja over the serving copy's
tables, with the rule values the warehouse was built with (the ``whatif_rules`` table) and the scenario bound
as query parameters, so ``horizonscale whatif`` and the dashboard's What-if view give what a row of
``seeds/whatif_scenarios.csv`` gives after a rebuild, without refitting or rebuilding anything.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import polars as pl

log = logging.getLogger(__name__)

MACRO_FILES: tuple[str, ...] = ("normal_distribution.sql", "whatif.sql")
SCOPE_KINDS: tuple[str, ...] = ("fleet", "department", "app_code", "host", "resource")
RESOURCES: tuple[str, ...] = ("cpu", "memory", "disk", "network")
#: Tables of the serving copy the what-if queries read.
REQUIRED_TABLES: frozenset[str] = frozenset(
    {"hosts", "forecasts", "forecast_windows", "forecast_exclusions", "whatif_rules"}
)


class WhatIfError(ValueError):
    """Bad scenario input, said in one line with the fix."""


@dataclass(frozen=True)
class Scenario:
    """One row of ``seeds/whatif_scenarios.csv``: scope, effect and name."""

    scenario_name: str = "adhoc"
    scope_kind: str = "fleet"
    scope_value: str | None = None
    resource: str = "all"
    start_date: date | None = None
    growth_pct_per_month: float = 0.0
    step_points: float = 0.0
    step_pct: float = 0.0
    capacity_factor: float = 1.0
    description: str | None = None

    def __post_init__(self) -> None:
        if self.scope_kind not in SCOPE_KINDS:
            raise WhatIfError(f"unknown scope kind {self.scope_kind!r}: use one of {', '.join(SCOPE_KINDS)}")
        if self.scope_kind != "fleet" and not (self.scope_value or "").strip():
            raise WhatIfError(f"scope {self.scope_kind} needs a value, e.g. --scope {self.scope_kind}=NAME")
        if self.scope_kind == "resource" and self.scope_value not in RESOURCES:
            raise WhatIfError(f"unknown resource {self.scope_value!r}: use one of {', '.join(RESOURCES)}")
        if self.resource not in ("all", *RESOURCES):
            raise WhatIfError(f"unknown resource {self.resource!r}: use all or one of {', '.join(RESOURCES)}")
        if self.scope_kind == "resource" and self.resource not in ("all", self.scope_value):
            raise WhatIfError(
                f"scope resource={self.scope_value} and resource {self.resource} select no series together: "
                f"name the resource once (--scope resource={self.resource}, or --resource {self.resource} with "
                "another scope)"
            )
        if self.growth_pct_per_month <= -100:
            raise WhatIfError(f"growth {self.growth_pct_per_month:g}%/month would remove all load: use above -100%")
        if self.step_pct < -100:
            raise WhatIfError(f"step {self.step_pct:g}% would make the load negative: use -100% or more")
        if self.capacity_factor <= 0:
            raise WhatIfError(f"capacity factor {self.capacity_factor:g} must be positive (x2 doubles the capacity)")

    @property
    def params(self) -> list[Any]:
        """The scenario as the bound parameters of ``SCENARIO_ROW``."""
        return [
            self.scenario_name,
            self.scope_kind,
            self.scope_value,
            self.resource,
            self.start_date,
            self.growth_pct_per_month,
            self.step_points,
            self.step_pct,
            self.capacity_factor,
            self.description,
        ]

    @property
    def lowers_load(self) -> bool:
        """The scenario lowers some value (more capacity, a shrinking load): one at the 100% cap stays there."""
        return self.capacity_factor > 1 or min(self.growth_pct_per_month, self.step_points, self.step_pct) < 0

    def describe(self) -> str:
        scope = "the fleet" if self.scope_kind == "fleet" else f"{self.scope_kind}={self.scope_value}"
        effects = []
        if self.growth_pct_per_month:
            effects.append(f"{self.growth_pct_per_month:+g}%/month compounding")
        if self.step_points:
            effects.append(f"{self.step_points:+g} points")
        if self.step_pct:
            effects.append(f"{self.step_pct:+g}% load")
        if self.capacity_factor != 1:
            effects.append(f"capacity x{self.capacity_factor:g}")
        resource = "all resources" if self.resource == "all" else self.resource
        start = f"from {self.start_date:%Y-%m-%d}" if self.start_date else "from the first forecast day"
        return f"{scope}, {resource}: {', '.join(effects) or 'no change'} {start}"


# The scenario as a one-row relation with the seed's columns; values arrive only as bound parameters.
SCENARIO_ROW = """
    select
        ?::varchar as scenario_name, ?::varchar as scope_kind, ?::varchar as scope_value, ?::varchar as resource,
        ?::date as start_date, ?::double as growth_pct_per_month, ?::double as step_points, ?::double as step_pct,
        ?::double as capacity_factor, ?::varchar as description"""


# --- parsing the command line's effect strings ------------------------------------------------------------------

_NUMBER = r"([+-]?\d+(?:\.\d+)?)"


def parse_scope(text: str) -> tuple[str, str | None]:
    """``fleet``, ``department=Payments``, ``app_code=RB-CORE``, ``host=<hostname or id>``, ``resource=cpu``."""
    kind, _, value = text.partition("=")
    kind = kind.strip().lower().replace("-", "_")
    kind = {"app": "app_code", "dept": "department", "hostname": "host"}.get(kind, kind)
    if kind not in SCOPE_KINDS:
        raise WhatIfError(f"bad scope {text!r}: use fleet or KIND=VALUE with KIND one of {', '.join(SCOPE_KINDS[1:])}")
    value = value.strip() or None
    if kind == "fleet":
        return kind, None
    if value is None:
        raise WhatIfError(f"scope {text!r} has no value: write it as {kind}=VALUE")
    return kind, value.lower() if kind == "resource" else value


def parse_growth(text: str) -> float:
    """``20%/month``, ``20%/mo``, ``20%`` or ``20`` -> 20.0 (% per month)."""
    match = re.fullmatch(_NUMBER + r"\s*%?\s*(?:/\s*(?:month|mo|m))?", text.strip(), flags=re.IGNORECASE)
    if not match:
        raise WhatIfError(f"bad growth {text!r}: write the extra growth per month as e.g. 20%/month or -5%/month")
    return float(match.group(1))


def parse_step(text: str) -> tuple[float, float]:
    """``+10pts`` / ``10points`` / ``10`` -> (10 points, 0 %); ``15%`` -> (0 points, 15 %)."""
    match = re.fullmatch(_NUMBER + r"\s*(%|pts?|points?)?", text.strip(), flags=re.IGNORECASE)
    if not match:
        raise WhatIfError(f"bad step {text!r}: write added load as points (e.g. +10pts) or a share (e.g. 15%)")
    value = float(match.group(1))
    return (0.0, value) if match.group(2) == "%" else (value, 0.0)


def parse_capacity(text: str) -> float:
    """``x2``, ``2x``, ``*2`` or ``2`` -> 2.0 (new / old capacity); ``x0.5`` halves it."""
    match = re.fullmatch(r"[x*]?\s*(\d+(?:\.\d+)?)\s*x?", text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise WhatIfError(f"bad capacity {text!r}: write new / old capacity as e.g. x2 (cores doubled) or x0.5")
    return float(match.group(1))


# --- the SQL, rendered from macros/whatif.sql -------------------------------------------------------------------


def macro_dir() -> Path:
    """``macros/`` of the checkout this module belongs to (the same files dbt compiles)."""
    return Path(__file__).resolve().parents[1] / "macros"


@functools.cache
def _macros() -> Any:
    source = "\n".join((macro_dir() / name).read_text(encoding="utf-8") for name in MACRO_FILES)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # SQL, not HTML
    return env.from_string(source).module


@dataclass(frozen=True)
class Rules:
    """The breach and RAG rule values the warehouse was built with (the ``whatif_rules`` table)."""

    breach_threshold: float
    breach_window_days: int
    amber_threshold: float
    band_z: float
    breach_alert_min_probability: float | None
    breach_alert_min_days: int
    #: A band-only alert needs the champion's difficulty under this (None: every band may alert).
    breach_alert_band_max_difficulty: float | None = None
    #: The serving copy lists hosts that stopped reporting (stale_hosts): they stay AMBER under any scenario.
    stale_hosts: bool = False
    #: Recurring peaks flag a series at this chance of one within the window (None: that alert is off).
    recurring_peak_min_probability: float | None = None
    #: The alert's day rule reads the growth upside's lifted bound (True) or the band without it (False).
    breach_alert_growth_upside: bool = False


#: The bound the alert's day rule reads; a copy published before it existed lacks it.
UPSIDE_FREE_COLUMN = "upper_without_upside"
OLD_COPY_MESSAGE = (
    "the serving copy's forecasts lack upper_without_upside (the band without the growth upside, which the alert "
    "rule reads): it was published by an older version; rebuild (horizonscale build)"
)


def rules_from_row(row: dict[str, Any], stale_hosts: bool) -> Rules:
    """Rules from a ``whatif_rules`` row (``select *``; a copy published before the band rule lacks its column)."""
    band = row.get("breach_alert_band_max_difficulty")
    peaks = row.get("recurring_peak_min_probability")
    return Rules(
        breach_threshold=float(row["breach_threshold"]),
        breach_window_days=int(row["breach_window_days"]),
        amber_threshold=float(row["amber_threshold"]),
        band_z=float(row["band_z"]),
        breach_alert_min_probability=row["breach_alert_min_probability"],
        breach_alert_min_days=int(row["breach_alert_min_days"]),
        breach_alert_band_max_difficulty=None if band is None else float(band),
        stale_hosts=stale_hosts,
        recurring_peak_min_probability=None if peaks is None else float(peaks),
        breach_alert_growth_upside=bool(row.get("breach_alert_growth_upside", False)),
    )


def read_rules(con: duckdb.DuckDBPyConnection) -> Rules:
    rows = con.sql("select * from whatif_rules").pl().to_dicts()
    if not rows:
        raise WhatIfError("whatif_rules is empty: rebuild the warehouse (horizonscale build)")
    rules = rules_from_row(rows[0], has_table(con, "stale_hosts"))
    # A copy published before the recurring-peak alert has neither its rule nor its table: the alert is off there.
    if rules.recurring_peak_min_probability is not None and not has_table(con, "recurring_peaks"):
        raise WhatIfError("the serving copy lacks recurring_peaks, which its rules read: rebuild (horizonscale build)")
    if not has_column(con, "forecasts", UPSIDE_FREE_COLUMN):
        raise WhatIfError(OLD_COPY_MESSAGE)
    return rules


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute("select count(*) from information_schema.tables where table_name = ?", [name]).fetchall()
    return bool(found[0][0])


def has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.columns where table_name = ? and column_name = ?", [table, column]
    ).fetchall()
    return bool(found[0][0])


def _chain(rules: Rules) -> str:
    """CTEs from the bound scenario row to its per-series comparison (the dbt models' steps, same macros)."""
    m = _macros()
    series = m.whatif_series_comparison(
        "scenario_forecasts",
        repr(rules.breach_threshold),
        rules.breach_window_days,
        repr(rules.band_z),
        None if rules.breach_alert_min_probability is None else repr(float(rules.breach_alert_min_probability)),
        rules.breach_alert_min_days,
        None if rules.breach_alert_band_max_difficulty is None else repr(rules.breach_alert_band_max_difficulty),
        None if rules.recurring_peak_min_probability is None else "recurring_peaks",
        None if rules.recurring_peak_min_probability is None else repr(rules.recurring_peak_min_probability),
        rules.breach_alert_growth_upside,
    )
    return f"""
    scenario_input as ({SCENARIO_ROW}),
    scenarios as ({m.whatif_normalized("scenario_input")}),
    scope_hosts as ({m.whatif_scope_hosts("scenarios", "hosts")}),
    scenario_forecasts as ({m.whatif_forecasts("scenarios", "scope_hosts", "forecasts", "forecast_windows")}),
    series as ({series})"""


def host_comparison_sql(rules: Rules, scope_hosts: str = "scope_hosts", series: str = "series") -> str:
    """Per host in scope: baseline vs scenario status (the columns of scenario_host_status)."""
    return str(
        _macros().whatif_host_comparison(
            scope_hosts,
            series,
            "forecast_exclusions",
            repr(rules.amber_threshold),
            "stale_hosts" if rules.stale_hosts else None,
        )
    )


def host_comparison_query(rules: Rules) -> str:
    """host_comparison_sql as one query over the serving copy. Params: the scenario."""
    return f"with {_chain(rules)}\n{host_comparison_sql(rules)}"


def flagged_series_sql(series: str = "series") -> str:
    """The series flagged under the baseline or the scenario, with owners (scenario_capacity_risks' facts)."""
    return f"""
    select series.*, hosts.hostname, hosts.department, hosts.app_code
    from {series} as series join hosts using (host_id)
    where series.baseline_is_breach_alert or series.scenario_is_breach_alert"""


def host_curve_sql() -> str:
    """One host's forecast under the scenario beside the baseline. Params: the scenario, then the host_id."""
    m = _macros()
    return f"""with
    scenario_input as ({SCENARIO_ROW}),
    scenarios as ({m.whatif_normalized("scenario_input")}),
    scope_hosts as (select * from ({m.whatif_scope_hosts("scenarios", "hosts")}) where host_id = ?),
    scenario_forecasts as ({m.whatif_forecasts("scenarios", "scope_hosts", "forecasts", "forecast_windows")})
    select * from scenario_forecasts order by resource, ds"""


def department_summary_sql(host_comparison: str) -> str:
    """scenario_department_summary's columns over a relation with host_comparison_sql's columns."""
    return str(_macros().whatif_department_summary(host_comparison))


# --- running it on the serving copy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIfResult:
    scenario: Scenario
    hosts: pl.DataFrame
    series: pl.DataFrame
    departments: pl.DataFrame

    def rag_counts(self) -> pl.DataFrame:
        """Hosts per status under the baseline and the scenario (RED, AMBER, GREEN rows)."""
        statuses = pl.DataFrame({"status": ["RED", "AMBER", "GREEN"]})
        baseline = self.hosts.group_by(pl.col("baseline_status").alias("status")).agg(pl.len().alias("baseline"))
        scenario = self.hosts.group_by(pl.col("scenario_status").alias("status")).agg(pl.len().alias("scenario"))
        return (
            statuses.join(baseline, on="status", how="left")
            .join(scenario, on="status", how="left")
            .with_columns(pl.col("baseline", "scenario").fill_null(0).cast(pl.Int64))
        )

    def changed_hosts(self) -> pl.DataFrame:
        """Hosts whose status or soonest flagged breach date differs, the most urgent first."""
        return changed_hosts(self.hosts)


def changed_hosts(hosts: pl.DataFrame) -> pl.DataFrame:
    rank = {"RED": 0, "AMBER": 1, "GREEN": 2}
    return (
        hosts.filter(
            (pl.col("baseline_status") != pl.col("scenario_status"))
            | pl.col("baseline_breach_date").ne_missing(pl.col("scenario_breach_date"))
        )
        .with_columns(
            (pl.col("baseline_breach_date") - pl.col("scenario_breach_date")).dt.total_days().alias("days_earlier"),
            pl.col("scenario_status").replace_strict(rank, default=3).alias("_rank"),
            (pl.col("baseline_status") == pl.col("scenario_status")).alias("_same"),
        )
        .sort(["_same", "_rank", "scenario_breach_date", "hostname"], nulls_last=True)
        .drop("_rank", "_same")
    )


def capped_hosts(hosts: pl.DataFrame) -> int:
    """Hosts in scope whose baseline band reaches 100% within the window: their demand above capacity is not
    measured (telemetry and forecasts stop at 100%)."""
    if "baseline_peak_yhat_upper" not in hosts.columns:
        return 0
    return hosts.filter(pl.col("baseline_peak_yhat_upper") >= 100).height


def scope_choices(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """The values a scope of ``kind`` can take on this fleet."""
    column = {"department": "department", "app_code": "app_code", "host": "hostname"}.get(kind)
    if column is None:
        return list(RESOURCES) if kind == "resource" else []
    return [row[0] for row in con.sql(f"select distinct {column} from hosts order by 1").fetchall()]


def _check_scope(con: duckdb.DuckDBPyConnection, scenario: Scenario) -> None:
    if scenario.scope_kind in ("fleet", "resource"):
        return
    column = {"department": "department", "app_code": "app_code", "host": "hostname"}[scenario.scope_kind]
    extra = " or lower(host_id) = lower($1)" if scenario.scope_kind == "host" else ""
    found = con.sql(
        f"select count(*) from hosts where lower({column}) = lower($1){extra}", params=[scenario.scope_value]
    ).fetchall()
    if found[0][0]:
        return
    known = scope_choices(con, scenario.scope_kind)
    shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    raise WhatIfError(f"unknown {scenario.scope_kind} {scenario.scope_value!r}: this fleet has {shown}")


def _check_start(con: duckdb.DuckDBPyConnection, scenario: Scenario) -> None:
    """A start after the forecast's last day changes nothing: say so rather than answer 'no change'."""
    if scenario.start_date is None:
        return
    (last,) = con.sql("select forecast_end from forecast_windows").fetchall()[0]
    if last is not None and scenario.start_date > last:
        raise WhatIfError(
            f"--from {scenario.start_date:%Y-%m-%d} is after the forecast's last day ({last:%Y-%m-%d}): the "
            "scenario would change nothing; start it within the forecast"
        )


def _connect(serving_file: Path) -> duckdb.DuckDBPyConnection:
    if not serving_file.is_file():
        raise WhatIfError(f"no serving copy at {serving_file}: run `horizonscale build` first")
    con = duckdb.connect(":memory:")
    con.execute("attach ? as serving (read_only)", [str(serving_file)])
    con.execute("use serving")
    present = {
        row[0] for row in con.sql("select table_name from duckdb_tables() where database_name = 'serving'").fetchall()
    }
    missing = REQUIRED_TABLES - present
    if missing:
        con.close()
        raise WhatIfError(
            f"the serving copy {serving_file} lacks {', '.join(sorted(missing))}: rebuild it (horizonscale build)"
        )
    return con


def seed_scenario(serving_file: Path, name: str) -> Scenario:
    """A row of the published seed whatif_scenarios, by name."""
    with _connect(serving_file) as con:
        if not con.sql("select 1 from duckdb_tables() where table_name = 'whatif_scenarios'").fetchall():
            raise WhatIfError(f"the serving copy {serving_file} has no whatif_scenarios: rebuild (horizonscale build)")
        frame = con.sql("select * from whatif_scenarios where scenario_name = ?", params=[name]).pl()
        if frame.is_empty():
            known = [row[0] for row in con.sql("select scenario_name from whatif_scenarios order by 1").fetchall()]
            raise WhatIfError(f"no scenario {name!r} in seeds/whatif_scenarios.csv: it has {', '.join(known)}")
    row = frame.row(0, named=True)
    return Scenario(
        scenario_name=row["scenario_name"],
        scope_kind=(row["scope_kind"] or "fleet").strip().lower(),
        scope_value=row["scope_value"],
        resource=(row["resource"] or "all").strip().lower(),
        start_date=row["start_date"],
        growth_pct_per_month=row["growth_pct_per_month"] or 0.0,
        step_points=row["step_points"] or 0.0,
        step_pct=row["step_pct"] or 0.0,
        capacity_factor=row["capacity_factor"] or 1.0,
        description=row["description"],
    )


def run_whatif(serving_file: Path, scenario: Scenario, check_scope: bool = True) -> WhatIfResult:
    """Baseline vs scenario for the hosts in scope, computed in DuckDB on the serving copy (read-only).

    ``check_scope`` refuses a department, app code or host the fleet does not have (a typo) instead of
    answering with an empty scope."""
    with _connect(serving_file) as con:
        if check_scope:
            _check_scope(con, scenario)
            _check_start(con, scenario)
        rules = read_rules(con)
        # Each step once, as a temp table (the dashboard runs the same steps as CTEs of one query).
        chain = _chain(rules)
        con.execute(f"create temp table wi_scope as with {chain} select * from scope_hosts", scenario.params)
        con.execute(f"create temp table wi_series as with {chain} select * from series", scenario.params)
        con.execute(f"create temp table wi_hosts as {host_comparison_sql(rules, 'wi_scope', 'wi_series')}")
        hosts = con.sql("from wi_hosts order by hostname").pl()
        departments = con.sql(department_summary_sql("wi_hosts") + " order by department").pl()
        series = con.sql(flagged_series_sql("wi_series") + " order by hostname, resource").pl()
    log.info("what-if %s: %d hosts in scope", scenario.scenario_name, hosts.height)
    return WhatIfResult(scenario=scenario, hosts=hosts, series=series, departments=departments)


def write_csv(result: WhatIfResult, out_dir: Path, bom: bool = True) -> Path:
    """Every host in scope (baseline vs scenario status, soonest flagged breach under each), changes first, as
    ``whatif_<scenario_name>.csv``: formula-safe and with a byte-order mark like the other reports."""
    from python_engines.report import neutralize_formulas, partial_path, rounded

    changed = result.changed_hosts()
    unchanged = result.hosts.join(changed.select("host_id"), on="host_id", how="anti").sort("hostname", "host_id")
    frame = pl.concat([changed.drop("days_earlier"), unchanged], how="vertical_relaxed").with_columns(
        (pl.col("baseline_breach_date") - pl.col("scenario_breach_date")).dt.total_days().alias("days_earlier")
    )
    # The file says which scenario made it: an ad-hoc run's name alone ('adhoc') named no scope or effect.
    frame = frame.insert_column(
        frame.columns.index("scenario_name") + 1 if "scenario_name" in frame.columns else 0,
        pl.lit(result.scenario.describe()).alias("scenario_description"),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", result.scenario.scenario_name).strip("._") or "adhoc"
    target = out_dir / f"whatif_{safe_name}.csv"
    partial = partial_path(target)
    rounded(neutralize_formulas(frame)).write_csv(partial, include_bom=bom)
    partial.replace(target)
    return target


def summary_lines(result: WhatIfResult, limit: int = 20) -> list[str]:
    """The printed summary: RAG counts under both, then the hosts that change, most urgent first."""
    lines = [f"what-if {result.scenario.scenario_name!r}: {result.scenario.describe()}"]
    lines.append(f"hosts in scope: {result.hosts.height:,}")
    lines.append(f"  {'status':<8}{'baseline':>10}{'scenario':>10}{'change':>9}")
    for status, baseline, scenario in result.rag_counts().iter_rows():
        lines.append(f"  {status:<8}{baseline:>10,}{scenario:>10,}{scenario - baseline:>+9,}")
    capped = capped_hosts(result.hosts)
    if capped and result.scenario.lowers_load:
        lines.append(
            f"note: {capped:,} host(s) in scope have a forecast band at 100% within the window; a full host cannot "
            "show how much more it would use, so the scenario keeps those days at 100% (size them with "
            "rightsizing, which says 'at least')"
        )
    changed = result.changed_hosts()
    lines.append(f"hosts whose status or breach date changes: {changed.height:,}")
    shared = set(changed.filter(pl.col("hostname").is_duplicated())["hostname"].to_list())
    for row in changed.head(limit).iter_rows(named=True):
        when = ""
        if row["scenario_breach_date"] is not None:
            when = f", breach {row['scenario_breach_date']:%Y-%m-%d} ({row['scenario_breach_resource']})"
            days = row["days_earlier"]
            if days:
                when += f", {abs(days)} days {'earlier' if days > 0 else 'later'}"
        elif row.get("scenario_status_reason") and row["scenario_status"] != "GREEN":
            when = f" ({row['scenario_status_reason']})"  # an AMBER with no breach date: say which crossing
        name = f"{row['hostname']} ({row['host_id']})" if row["hostname"] in shared else row["hostname"]
        lines.append(f"  {name} [{row['department']}]: {row['baseline_status']} -> {row['scenario_status']}{when}")
    if changed.height > limit:
        lines.append(f"  ... and {changed.height - limit:,} more in the CSV")
    return lines
