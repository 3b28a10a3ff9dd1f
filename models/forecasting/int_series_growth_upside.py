"""Each series' compounding-growth curve over its last weeks, the golden band's upside (growth_upside)."""

from python_engines.forecasting.dbt_bridge import flag_var, optional_float, read_windows
from python_engines.forecasting.growth_upside import UpsideSettings, upside_table


def model(dbt, session):
    dbt.config(materialized="table")
    windows = read_windows(dbt.ref("forecast_windows"))
    settings = UpsideSettings(
        min_evidence=optional_float(dbt.config.meta_get("growth_upside_min_evidence")),
        interval_width=float(dbt.config.meta_get("interval_width")),
        staircase=flag_var("prophet_staircase", dbt.config.meta_get("prophet_staircase")),
        staircase_many_steps=flag_var(
            "prophet_staircase_many_steps", dbt.config.meta_get("prophet_staircase_many_steps")
        ),
    )
    return upside_table(dbt.ref("processed_data"), windows.history_end, settings)
