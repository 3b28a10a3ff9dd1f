"""Prophet champion: backtest and 180-day production forecast of every series (python_engines.forecasting)."""

from python_engines.forecasting.dbt_bridge import run_engine_model


def model(dbt, session):
    dbt.config(materialized="table")
    configs = {
        "lake_dir": dbt.config.meta_get("lake_dir"),
        "forecast_workers": dbt.config.meta_get("forecast_workers"),
        "dask_scheduler": dbt.config.meta_get("dask_scheduler"),
        "forecast_host_limit": dbt.config.meta_get("forecast_host_limit"),
        "forecast_chunk_hosts": dbt.config.meta_get("forecast_chunk_hosts"),
        "forecast_time_limit_seconds": dbt.config.meta_get("forecast_time_limit_seconds"),
        "calibration_series": dbt.config.meta_get("calibration_series"),
        "interval_width": dbt.config.meta_get("interval_width"),
        "min_history_days": dbt.config.meta_get("min_history_days"),
        "max_imputed_share": dbt.config.meta_get("max_imputed_share"),
        "prophet_growth": dbt.config.meta_get("prophet_growth"),
        "recent_trend_days": dbt.config.meta_get("recent_trend_days"),
        "recent_trend_z": dbt.config.meta_get("recent_trend_z"),
        "recent_trend_min_points": dbt.config.meta_get("recent_trend_min_points"),
        "recent_trend_material_days": dbt.config.meta_get("recent_trend_material_days"),
        "recent_slope_uncertainty": dbt.config.meta_get("recent_slope_uncertainty"),
        "prophet_residual_autocorrelation": dbt.config.meta_get("prophet_residual_autocorrelation"),
        "prophet_since_step": dbt.config.meta_get("prophet_since_step"),
        "prophet_since_step_recent_pull": dbt.config.meta_get("prophet_since_step_recent_pull"),
        "prophet_staircase": dbt.config.meta_get("prophet_staircase"),
        "prophet_staircase_renewal": dbt.config.meta_get("prophet_staircase_renewal"),
        "prophet_staircase_many_steps": dbt.config.meta_get("prophet_staircase_many_steps"),
        "prophet_level_cycle": dbt.config.meta_get("prophet_level_cycle"),
        "prophet_cycle_in_trend": dbt.config.meta_get("prophet_cycle_in_trend"),
        "prophet_slow_compounding": dbt.config.meta_get("prophet_slow_compounding"),
        "prophet_sharp_seasons": dbt.config.meta_get("prophet_sharp_seasons"),
        "prophet_sharp_season_order": dbt.config.meta_get("prophet_sharp_season_order"),
        "prophet_growing_seasons": dbt.config.meta_get("prophet_growing_seasons"),
        "prophet_season_size_own_base": dbt.config.meta_get("prophet_season_size_own_base"),
        "prophet_wander_damping": dbt.config.meta_get("prophet_wander_damping"),
        "prophet_wandering_levels": dbt.config.meta_get("prophet_wandering_levels"),
        "prophet_wander_model_floor": dbt.config.meta_get("prophet_wander_model_floor"),
        "prophet_season_ramp_check": dbt.config.meta_get("prophet_season_ramp_check"),
        "prophet_season_free_yardstick": dbt.config.meta_get("prophet_season_free_yardstick"),
        "prophet_season_size_uncertainty": dbt.config.meta_get("prophet_season_size_uncertainty"),
        "prophet_young_ramp_check": dbt.config.meta_get("prophet_young_ramp_check"),
        "prophet_calendar_peaks": dbt.config.meta_get("prophet_calendar_peaks"),
        "prophet_reset_steps": dbt.config.meta_get("prophet_reset_steps"),
        "prophet_hinge_lookback": dbt.config.meta_get("prophet_hinge_lookback"),
        "prophet_growth_search_window": dbt.config.meta_get("prophet_growth_search_window"),
    }
    return run_engine_model("prophet", dbt.ref("processed_data"), dbt.ref("forecast_windows"), configs, session)
