"""XGBoost challenger: backtest and 180-day production forecast of every series (python_engines.forecasting)."""

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
        "xgboost_mode": dbt.config.meta_get("xgboost_mode"),
        "xgboost_train_series": dbt.config.meta_get("xgboost_train_series"),
        "xgboost_anchor_days": dbt.config.meta_get("xgboost_anchor_days"),
    }
    return run_engine_model("xgboost", dbt.ref("processed_data"), dbt.ref("forecast_windows"), configs, session)
