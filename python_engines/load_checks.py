"""What `horizonscale load` can tell before the build: problems that would get most telemetry rows rejected.

The refinery decides row by row (``telemetry_rejects``), but some problems are visible in the staged files
already and would reject every row, or most: telemetry host_ids that match no inventory host_id (an FQDN on
one side, a short name on the other), timestamps written as epoch seconds or milliseconds or otherwise not
ISO 8601, values with a decimal comma, fractions loaded as percent. ``check_telemetry`` measures them in one
DuckDB pass over the staged Parquet files (the same parsing as ``stg_own_telemetry``) and returns one line per
problem, each with an example and the fix; when no row at all would be usable it raises instead, so the load
changes nothing. It also settles the value scale when the user did not give one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from python_engines.paths import find_project_root

log = logging.getLogger(__name__)

#: The resource spellings the refinery maps: the dbt seed stg_resource_aliases reads, under the project root.
ALIASES_SEED = Path("seeds") / "resource_aliases.csv"

#: A problem is worth a warning when it hits more than this share of the telemetry rows: the build's
#: default max_reject_share, above which it fails.
WARN_SHARE = 0.05
#: Without --value-scale, values are taken as fractions (and the load refuses) when at least this share of
#: the numeric values lies within 0-1; or at least FRACTION_SHARE_LOOSE of them with none above
#: FRACTION_LOOSE_MAX (fractions with a few values over 1: CPU above its limit, a counter's overshoot).
FRACTION_SHARE = 0.99
FRACTION_SHARE_LOOSE = 0.9
FRACTION_LOOSE_MAX = 2.0
ISO_HINT = "export ISO 8601 dates or timestamps (2024-06-01, 2024-06-01T13:05:00Z, 2024-06-01T14:05:00+01:00)"


class LoadCheckError(ValueError):
    """No telemetry row would be usable, or the value scale is ambiguous: one line naming the fix."""


def fraction_like(numeric_rows: int, within_one_rows: int, max_value: float | None) -> bool:
    """Whether numeric values with ``within_one_rows`` of ``numeric_rows`` within 0-1 look like fractions."""
    if numeric_rows == 0 or not max_value or max_value <= 0:
        return False
    share = within_one_rows / numeric_rows
    return share >= FRACTION_SHARE or (share >= FRACTION_SHARE_LOOSE and max_value <= FRACTION_LOOSE_MAX)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _files_literal(paths: list[Path]) -> str:
    """A DuckDB list literal of file paths, for read_parquet."""
    return "[" + ", ".join(_literal(str(path)) for path in paths) + "]"


#: The timestamp parsing of stg_own_telemetry: an offset or zone after the date means timestamptz, else UTC; a
#: zone abbreviation other than UTC or GMT (BST, IST, CST...) is ambiguous and gives null.
TS_UTC = """
    case
        when regexp_matches(ts, '[0-9 ][a-z]{2,}$', 'i') and not regexp_matches(ts, '[0-9 ](utc|gmt)$', 'i')
            then null
        when regexp_matches(substr(ts, 11), '[a-su-z+-]', 'i') then timezone('UTC', try_cast(ts as timestamptz))
        else try_cast(ts as timestamp)
    end
"""

CHECK_SQL = """
with

inventory as (
    select distinct lower(trim(host_id)) as host_id, lower(trim(hostname)) as hostname
    from read_parquet({inventory})
    where nullif(trim(host_id), '') is not null
),

known as (select distinct host_id from inventory),
short_known as (select distinct split_part(host_id, '.', 1) as short_id from inventory),
hostnames as (select distinct hostname from inventory where hostname is not null),
aliases as ({aliases}),

telemetry as (
    select
        file_row,
        source_file,
        host_id as source_host_id,
        lower(trim(host_id)) as host_id,
        resource as source_resource,
        lower(trim(resource)) as resource,
        trim(ts) as ts,
        nullif(trim(value), '') as value
    from read_parquet({telemetry})
),

parsed as (
    select
        *,
        {ts_utc} as ts_utc,
        try_cast(value as double) as number,
        host_id in (select host_id from known) as known_host,
        split_part(host_id, '.', 1) in (select short_id from short_known) as known_short,
        host_id in (select hostname from hostnames) as known_hostname,
        resource in (select alias from aliases) as known_resource
    from telemetry
),

flagged as (
    select
        *,
        ts_utc is null and regexp_full_match(ts, '[0-9]{{9,10}}([.][0-9]*)?') as epoch_seconds,
        ts_utc is null and regexp_full_match(ts, '[0-9]{{12,13}}([.][0-9]*)?') as epoch_millis,
        number is null and regexp_full_match(value, '[+-]?[0-9]*,[0-9]+') as decimal_comma,
        number is not null and not isnan(number) as numeric
    from parsed
)

select
    count(*) as total_rows,
    count(*) filter (known_host) as known_rows,
    count(*) filter (not known_host and host_id is not null) as unknown_rows,
    count(*) filter (not known_host and known_short) as short_match_rows,
    count(*) filter (not known_host and known_hostname) as hostname_match_rows,
    count(*) filter (ts_utc is not null) as parsed_ts_rows,
    count(*) filter (epoch_seconds) as epoch_seconds_rows,
    count(*) filter (epoch_millis) as epoch_millis_rows,
    count(*) filter (ts_utc is null and not epoch_seconds and not epoch_millis) as other_ts_rows,
    count(*) filter (decimal_comma) as decimal_comma_rows,
    count(*) filter (value is not null and not numeric and not decimal_comma) as non_numeric_rows,
    count(*) filter (numeric) as numeric_rows,
    count(*) filter (numeric and number between 0 and 1) as within_one_rows,
    count(*) filter (numeric and number > 1) as above_one_rows,
    max(number) filter (numeric) as max_value,
    count(*) filter (not known_resource) as unknown_resource_rows,
    count(*) filter (numeric and not (number between 0 and 100)) as out_of_range_rows,
    count(*) filter (known_host and ts_utc is not null and number between 0 and 100) as usable_percent_rows,
    count(*) filter (known_host and ts_utc is not null and number between 0 and 1) as usable_fraction_rows,
    arg_min(source_host_id, (host_id, file_row)) filter (not known_host and host_id is not null) as unknown_example,
    arg_min(ts, file_row) filter (epoch_seconds) as epoch_seconds_example,
    arg_min(ts, file_row) filter (epoch_millis) as epoch_millis_example,
    arg_min(ts, file_row) filter (ts_utc is null and not epoch_seconds and not epoch_millis) as other_ts_example,
    arg_min(value, file_row) filter (decimal_comma) as decimal_comma_example,
    arg_min(value, file_row) filter (value is not null and not numeric and not decimal_comma) as non_numeric_example,
    arg_min(value, file_row) filter (numeric and number > 0 and number <= 1) as fraction_example,
    arg_min(value, file_row) filter (numeric and number > 1) as above_one_example,
    arg_min(source_resource, file_row) filter (not known_resource) as unknown_resource_example,
    arg_min(value, file_row) filter (numeric and not (number between 0 and 100)) as out_of_range_example
from flagged
"""


@dataclass(frozen=True)
class TelemetryProfile:
    """Counts of the staged telemetry rows by what the refinery will make of them, with one example each."""

    total_rows: int
    known_rows: int
    unknown_rows: int
    short_match_rows: int
    hostname_match_rows: int
    parsed_ts_rows: int
    epoch_seconds_rows: int
    epoch_millis_rows: int
    other_ts_rows: int
    decimal_comma_rows: int
    non_numeric_rows: int
    numeric_rows: int
    within_one_rows: int
    above_one_rows: int
    max_value: float | None
    usable_percent_rows: int
    usable_fraction_rows: int
    unknown_example: str | None
    epoch_seconds_example: str | None
    epoch_millis_example: str | None
    other_ts_example: str | None
    decimal_comma_example: str | None
    non_numeric_example: str | None
    fraction_example: str | None
    above_one_example: str | None
    unknown_resource_rows: int = 0
    out_of_range_rows: int = 0
    unknown_resource_example: str | None = None
    out_of_range_example: str | None = None
    inventory_example: str | None = None

    def share(self, rows: int) -> float:
        return rows / self.total_rows if self.total_rows else 0.0

    def rows(self, rows: int) -> str:
        return f"{rows:,} of {self.total_rows:,} rows ({self.share(rows):.1%})"

    @property
    def looks_like_fractions(self) -> bool:
        return fraction_like(self.numeric_rows, self.within_one_rows, self.max_value)


#: Per export file and resource: numeric values, how many lie within 0-1, the largest. A load that mixes a
#: percent export with a 0-1 one passes the whole-load test (most values are above 1) and would read the
#: fractions as under 1% busy, hence right-sizing advice to cut a full host's memory.
GROUP_SQL = """
select
    source_file as file,
    lower(trim(resource)) as resource,
    count(*) as numeric_rows,
    count(*) filter (where number between 0 and 1) as within_one_rows,
    max(number) as max_value
from (select source_file, resource, try_cast(nullif(trim(value), '') as double) as number from read_parquet({files}))
where isfinite(number)
group by all
order by file, resource
"""
#: A file x resource group is judged on its own only with at least this many numeric values.
GROUP_MIN_ROWS = 30


@dataclass(frozen=True)
class ValueGroup:
    """The numeric values of one export file's resource: how many, how many within 0-1, the largest."""

    file: str
    resource: str
    numeric_rows: int
    within_one_rows: int
    max_value: float

    @property
    def looks_like_fractions(self) -> bool:
        return self.numeric_rows >= GROUP_MIN_ROWS and fraction_like(
            self.numeric_rows, self.within_one_rows, self.max_value
        )


def value_groups(con: duckdb.DuckDBPyConnection, staged_telemetry: list[Path]) -> list[ValueGroup]:
    """The staged telemetry's numeric values by export file and resource (as spelled in the export)."""
    files = _files_literal(staged_telemetry)
    rows = con.execute(GROUP_SQL.format(files=files)).fetchall()
    return [ValueGroup(*row) for row in rows]


def fraction_groups_problem(groups: list[ValueGroup], requested: str | None, scale: str, source: str) -> str | None:
    """When a percent load holds an export whose values for a resource all lie within 0-1: the message (raised
    when no --value-scale was given, a warning when percent was asked for explicitly); else None."""
    if scale != "percent":
        return None
    fractions = [group for group in groups if group.looks_like_fractions]
    if not fractions or len(fractions) == len(groups):
        return None  # none, or every group: the whole-load test decides (resolve_value_scale)
    largest = max(group.max_value for group in groups if not group.looks_like_fractions)
    listed = "; ".join(
        f"{group.resource} in {group.file} ({group.numeric_rows:,} values, largest {group.max_value:g})"
        for group in fractions[:5]
    ) + (f"; and {len(fractions) - 5} more" if len(fractions) > 5 else "")
    what = (
        f"{source}: values all within 0-1 for {listed}, while the rest of the load is percent (largest "
        f"{largest:g}): these look like fractions, which would load as under 1% busy"
    )
    if requested == "percent":
        return f"{what} (kept as percent, as --value-scale percent says)"
    return (
        f"{what}: load the percent exports first, then add these with `horizonscale load --append --telemetry "
        "<file> --value-scale fraction` (or convert them to percent); pass --value-scale percent if they really "
        "are percent (an idle resource); nothing was changed"
    )


#: A series' recent history above this median (percent) and its appended values all within 0-1: fractions.
APPEND_HISTORY_MIN_MEDIAN = 5.0

APPEND_SCALE_SQL = """
with
appended as (
    select lower(trim(host_id)) as host_id, lower(trim(resource)) as resource, try_cast(trim(value) as double) as v
    from read_parquet({telemetry})
),
within_one as (
    select host_id, resource, count(v) as new_values, max(v) as largest
    from appended
    where v is not null and isfinite(v)
    group by all
    having min(v) >= 0 and max(v) <= 1
),
history as (
    select lower(trim(host_id)) as host_id, lower(trim(resource)) as resource, try_cast(trim(value) as double) as v
    from read_parquet({lake})
    where (lower(trim(host_id)), lower(trim(resource))) in (select (host_id, resource) from within_one)
)
select within_one.host_id, within_one.resource, any_value(new_values), any_value(largest), median(history.v)
from within_one
inner join history using (host_id, resource)
where history.v between 0 and 100
group by all
having median(history.v) > {min_median}
order by all
"""


def append_scale_problem(
    con: duckdb.DuckDBPyConnection, staged_telemetry: list[Path], lake: str, requested: str | None, source: str
) -> str | None:
    """An append (percent) whose values for a series all lie within 0-1 while the series' history in the lake
    is well above 1: a collector that switched to fractions for a few hosts. The whole-load and per-file checks
    cannot see it (one day's file is mostly percent): such a host loaded as idle and its forecast collapsed
    (87% memory -> 7.6%). The message (raised without --value-scale, a warning with percent); else None."""
    rows = con.execute(
        APPEND_SCALE_SQL.format(
            telemetry=_files_literal(staged_telemetry), lake=_literal(lake), min_median=APPEND_HISTORY_MIN_MEDIAN
        )
    ).fetchall()
    if not rows:
        return None
    listed = "; ".join(
        f"{host} {resource} ({count:,} values, largest {largest:g}, its history's median {median:.1f})"
        for host, resource, count, largest, median in rows[:5]
    ) + (f"; and {len(rows) - 5} more" if len(rows) > 5 else "")
    what = f"{source}: values all within 0-1 for {listed}: these look like fractions, which would load as idle"
    if requested == "percent":
        return f"{what} (kept as percent, as --value-scale percent says)"
    return (
        f"{what}: convert them to percent or load that host's file with --value-scale fraction; pass "
        "--value-scale percent if the series really went idle; nothing was changed"
    )


SILENT_SQL = """
with
inventory as (
    select distinct lower(trim(host_id)) as host_id
    from read_parquet({inventory})
    where nullif(trim(host_id), '') is not null
),
reporting as (select distinct lower(trim(host_id)) as host_id from read_parquet({telemetry}))
select
    (select count(*) from inventory) as hosts,
    list(host_id order by host_id) filter (where host_id not in (select host_id from reporting)) as silent
from inventory
"""


def silent_hosts_warning(
    con: duckdb.DuckDBPyConnection, staged_inventory: Path, staged_telemetry: list[Path], source: str
) -> str | None:
    """A warning naming the inventory hosts without a single telemetry row (None when every host has one):
    they have no series to forecast, and fleet_health shows them AMBER 'no telemetry' (stale_hosts)."""
    files = _files_literal(staged_telemetry)
    hosts, silent = con.execute(
        SILENT_SQL.format(inventory=_literal(str(staged_inventory)), telemetry=files)
    ).fetchone()
    if not silent:
        return None
    shown = ", ".join(silent[:5]) + (f" and {len(silent) - 5} more" if len(silent) > 5 else "")
    return (
        f"{source}: {len(silent):,} of {hosts:,} inventory hosts have no telemetry row ({shown}): nothing can be "
        "forecast for them, and fleet_health will show them AMBER 'no telemetry'; check that the export covers them"
    )


#: Inventory values the marts use as a roll-up's label (column -> the mart whose roll-up rows carry it): a real
#: region or app_code spelled so would share its key with the roll-up row and fail the build's unique tests.
RESERVED_LABELS: dict[str, tuple[str, str]] = {
    "region": ("ALL", "department_risk_summary's roll-up over every region"),
    "app_code": ("ALL", "rightsizing_summary's roll-up over every app_code"),
}

RESERVED_SQL = """
select list(distinct trim(host_id) order by trim(host_id))
from read_parquet({inventory})
where upper(trim({column})) = {label} and nullif(trim(host_id), '') is not null
"""


def reserved_label_problem(con: duckdb.DuckDBPyConnection, staged_inventory: Path, source: str) -> str | None:
    """The message refusing an inventory whose region or app_code is a roll-up's label (the refinery upper-cases
    both, so 'all' is 'ALL'), naming the hosts and the fix; None when no host carries one."""
    problems = []
    for column, (label, meaning) in RESERVED_LABELS.items():
        sql = RESERVED_SQL.format(inventory=_literal(str(staged_inventory)), column=column, label=_literal(label))
        (hosts,) = con.execute(sql).fetchone()
        if hosts:
            shown = ", ".join(hosts[:3]) + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else "")
            count = f"{len(hosts):,} host{'s' if len(hosts) > 1 else ''}"
            problems.append(f"{column} '{label}' ({count}: {shown}) is the label of {meaning}")
    if not problems:
        return None
    return f"{source}: {'; '.join(problems)}; rename it in the inventory (for example 'GLOBAL') and load again"


def _aliases_sql() -> str:
    """The known resource spellings: the project's seed, or the four names where no project is found."""
    try:
        seed = find_project_root() / ALIASES_SEED
    except FileNotFoundError:
        return "select unnest(['cpu', 'memory', 'disk', 'network']) as alias"
    source = f"read_csv({_literal(str(seed))}, header = true, all_varchar = true)"
    return f"select lower(trim(alias)) as alias from {source}"


def profile_telemetry(
    con: duckdb.DuckDBPyConnection, staged_inventory: Path, staged_telemetry: list[Path]
) -> TelemetryProfile:
    """One pass over the staged files (every column text); ``con`` must be in the UTC time zone."""
    files = _files_literal(staged_telemetry)
    query = CHECK_SQL.format(
        inventory=_literal(str(staged_inventory)), telemetry=files, ts_utc=TS_UTC, aliases=_aliases_sql()
    )
    cursor = con.execute(query)
    names = [column[0] for column in cursor.description]
    profile = TelemetryProfile(**dict(zip(names, cursor.fetchone(), strict=True)))
    if profile.unknown_example is None:
        return profile
    return TelemetryProfile(
        **{**profile.__dict__, "inventory_example": _inventory_example(con, staged_inventory, profile)}
    )


def _inventory_example(con: duckdb.DuckDBPyConnection, staged_inventory: Path, profile: TelemetryProfile) -> str | None:
    """The inventory host_id to show beside the unknown telemetry example: the one with the same short name
    or hostname if there is one, else the first."""
    wanted = (profile.unknown_example or "").strip().lower()
    row = con.execute(
        f"""
        select host_id
        from read_parquet({_literal(str(staged_inventory))})
        where nullif(trim(host_id), '') is not null
        order by
            split_part(lower(trim(host_id)), '.', 1) = split_part($wanted, '.', 1) desc,
            lower(trim(hostname)) = $wanted desc,
            raw_row_id
        limit 1
        """,
        {"wanted": wanted},
    ).fetchone()
    return row[0] if row else None


def _domain_difference(profile: TelemetryProfile) -> str:
    telemetry_dotted = "." in (profile.unknown_example or "")
    inventory_dotted = "." in (profile.inventory_example or "")
    if telemetry_dotted and inventory_dotted:
        return "both fully qualified, in different domains"
    if telemetry_dotted:
        return "telemetry host_ids fully qualified, inventory ones short"
    return "inventory host_ids fully qualified, telemetry ones short"


def _host_problem(profile: TelemetryProfile) -> str | None:
    if profile.share(profile.unknown_rows) <= WARN_SHARE:
        return None
    what = (
        "no telemetry host_id matches the inventory"
        if profile.known_rows == 0
        else f"{profile.rows(profile.unknown_rows)} have a host_id that is not in the inventory"
    )
    inventory = repr(profile.inventory_example) if profile.inventory_example else "none (no host_id filled in)"
    example = f"e.g. telemetry {profile.unknown_example!r}, inventory {inventory}"
    if profile.hostname_match_rows > profile.unknown_rows / 2:
        fix = (
            "the telemetry host_ids match the inventory's hostname column instead: export the inventory's "
            "host_id in the telemetry, or the hostname as the inventory's host_id"
        )
    elif profile.short_match_rows > profile.unknown_rows / 2:
        fix = (
            f"they differ only by the domain ({_domain_difference(profile)}): export both with the same "
            "host_id, e.g. the short name (split_part(host_id, '.', 1))"
        )
    else:
        fix = "export both files with the same host_id for each host (compared trimmed, case-insensitively)"
    return f"{what} ({example}): {fix}"


def _timestamp_problems(profile: TelemetryProfile) -> list[str]:
    problems = []
    for rows, example, unit, divisor in (
        (profile.epoch_seconds_rows, profile.epoch_seconds_example, "seconds", 1),
        (profile.epoch_millis_rows, profile.epoch_millis_example, "milliseconds", 1000),
    ):
        if profile.share(rows) > WARN_SHARE and example is not None:
            instant = datetime.fromtimestamp(float(example) / divisor, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            problems.append(
                f"{profile.rows(rows)} have ts as epoch {unit} (e.g. {example!r} = {instant}), not ISO 8601, "
                f"so they would be rejected as unparseable_timestamp: {ISO_HINT}"
            )
    if profile.share(profile.other_ts_rows) > WARN_SHARE:
        what = (
            "no ts is parseable as ISO 8601"
            if profile.parsed_ts_rows == 0 and not problems
            else f"{profile.rows(profile.other_ts_rows)} have a ts that is not ISO 8601"
        )
        problems.append(f"{what} (e.g. {profile.other_ts_example!r}), rejected as unparseable_timestamp: {ISO_HINT}")
    return problems


def _resource_problem(profile: TelemetryProfile) -> str | None:
    if profile.share(profile.unknown_resource_rows) <= WARN_SHARE:
        return None
    return (
        f"{profile.rows(profile.unknown_resource_rows)} have a resource this project does not forecast (e.g. "
        f"{profile.unknown_resource_example!r}), rejected as unknown_resource: name it cpu, memory, disk or "
        f"network, or add your spelling to {ALIASES_SEED}"
    )


def _value_problems(profile: TelemetryProfile, value_scale: str) -> list[str]:
    problems = []
    if value_scale == "percent" and profile.share(profile.out_of_range_rows) > WARN_SHARE:
        problems.append(
            f"{profile.rows(profile.out_of_range_rows)} have a value outside 0-100 (e.g. "
            f"{profile.out_of_range_example!r}), rejected as out_of_range: check the export's units"
        )
    if profile.share(profile.decimal_comma_rows) > WARN_SHARE:
        example = profile.decimal_comma_example or ""
        problems.append(
            f"{profile.rows(profile.decimal_comma_rows)} have a value with a decimal comma (e.g. {example!r}), "
            f"rejected as non_numeric_value: export values with a decimal point ({example.replace(',', '.')})"
        )
    if profile.share(profile.non_numeric_rows) > WARN_SHARE:
        problems.append(
            f"{profile.rows(profile.non_numeric_rows)} have a value that is not a number "
            f"(e.g. {profile.non_numeric_example!r}), rejected as non_numeric_value: export plain numbers"
        )
    if value_scale == "fraction" and profile.share(profile.above_one_rows) > WARN_SHARE:
        problems.append(
            f"{profile.rows(profile.above_one_rows)} have a value above 1 (e.g. {profile.above_one_example!r}) "
            "although --value-scale fraction multiplies by 100, so they would be rejected as out_of_range: "
            "drop --value-scale fraction if the values are percent"
        )
    return problems


def resolve_value_scale(profile: TelemetryProfile, requested: str | None, source: str) -> str:
    """The scale to load with: ``requested`` if given, else percent, refusing values that look like fractions."""
    if requested is None and profile.looks_like_fractions:
        raise LoadCheckError(
            f"{source}: {profile.within_one_rows:,} of {profile.numeric_rows:,} numeric values are within 0-1 "
            f"(e.g. {profile.fraction_example!r}, largest {profile.max_value:g}), so they look like fractions, "
            "which would load as under 1% busy: pass --value-scale fraction (multiplied by 100), or "
            "--value-scale percent if they really are percent; nothing was changed"
        )
    return requested or "percent"


def describe_value_scale(profile: TelemetryProfile, requested: str | None, scale: str) -> str:
    """The scale decision in words, for the load log."""
    basis = "as given by --value-scale" if requested else "the default; pass --value-scale fraction for 0-1 values"
    largest = "no numeric value" if profile.max_value is None else f"largest value {profile.max_value:g}"
    caution = (
        "; the values all lie within 0-1, so they load as under 1% busy"
        if scale == "percent" and profile.looks_like_fractions
        else ""
    )
    return f"values loaded as {scale} ({basis}; {largest}){caution}"


def check_telemetry(profile: TelemetryProfile, value_scale: str, source: str) -> list[str]:
    """One warning line per problem that would reject more than WARN_SHARE of the rows; raises LoadCheckError
    when no row at all would be usable (its host unknown, its ts unparseable or its value not a number)."""
    problems = [
        problem
        for problem in (
            _host_problem(profile),
            _resource_problem(profile),
            *_timestamp_problems(profile),
            *_value_problems(profile, value_scale),
        )
        if problem
    ]
    usable = profile.usable_fraction_rows if value_scale == "fraction" else profile.usable_percent_rows
    if usable == 0:
        reasons = "; ".join(problems) or (
            f"every row has an unknown host, an unparseable ts, or a value that is not a number within "
            f"{'0-1' if value_scale == 'fraction' else '0-100'}"
        )
        raise LoadCheckError(f"{source}: no telemetry row would be usable: {reasons}; nothing was changed")
    return [f"{source}: {problem}" for problem in problems]
