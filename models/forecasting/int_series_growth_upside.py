"""Each series' compounding-growth curve over its last weeks, the golden band's upside (growth_upside)."""

from python_engines.forecasting.dbt_bridge import read_windows
from python_engines.forecasting.growth_upside import UpsideSettings, upside_table


def model(dbt, session):
    dbt.config(materialized="table")
    windows = read_windows(dbt.ref("forecast_windows"))
    bar = dbt.config.get("growth_upside_min_evidence")  # rendered from the var: a number, or None when off
    refit = None if bar in (None, "", "None", "none") else float(bar)
    settings = UpsideSettings(refit_min_evidence=refit)
    return upside_table(dbt.ref("processed_data"), windows.history_end, settings)
