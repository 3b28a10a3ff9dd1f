"""Forecasting engines and the fleet runner behind ``prophet_forecasts`` and ``xgboost_forecasts``.

Layers, each ignorant of the one above it:

- :mod:`.windows` - the backtest / production date rule (one pure function, SQL twin ``forecast_windows``).
- :mod:`.series`  - one series as numpy arrays, and when it has too little history to forecast.
- engines        - :func:`.prophet_engine.prophet_forecast` (one series in, one :class:`.output.SeriesForecast`
  out) and :func:`.xgboost_engine.xgboost_chunk` (a chunk of series, vectorised; a chunk of one is fine).
  Pure: same inputs, same outputs, no pools, clusters or dbt.
- :mod:`.intervals` - split-conformal interval calibration by horizon on held-out history.
- :mod:`.fleet`   - schedules an engine function over chunks: a supervised ``spawn`` process pool (per-series
  time limit, crash isolation, progress) or a Dask cluster.
- :mod:`.runs`    - the order of passes for one engine: (train global models) -> calibrate -> forecast.
- :mod:`.dbt_bridge` - what the dbt Python models call.

Running the same function on Spark (dbt-databricks / dbt-spark): group the long ``processed_data`` frame by
series and call the per-series engine from ``applyInPandas``; the engine takes arrays and returns the contract
columns, so the UDF is a few lines::

    from python_engines.forecasting import ForecastWindows, ProphetSettings, Series, prophet_forecast

    windows = ForecastWindows.from_mapping(spark.table("forecast_windows").first().asDict())
    quantiles = ...  # optional: learn once on a sample (runs.learn_quantiles), broadcast

    def forecast_group(pdf):  # one (host_id, resource) as a pandas frame
        series = Series.from_arrays(pdf.host_id.iloc[0], pdf.resource.iloc[0],
                                    pdf.ds.to_numpy(), pdf.y.to_numpy(), pdf.is_imputed.to_numpy())
        return prophet_forecast(series, windows, ProphetSettings(), quantiles).to_frame(windows)

    schema = "host_id string, resource string, model string, segment string, ds date, " \\
             "yhat double, yhat_lower double, yhat_upper double"
    forecasts = (spark.table("processed_data").groupBy("host_id", "resource")
                 .applyInPandas(forecast_group, schema))

The global XGBoost engine splits the same way: train its boosters once on the driver
(:func:`.xgboost_engine.train_global`), broadcast the raw bytes, and call
``xgboost_chunk([series], windows, XGBoostParams(settings, boosters, quantiles))`` per group (or per
``mapInPandas`` partition, which keeps its vectorised recursion). The run log comes from the same objects
(:meth:`.output.SeriesForecast.run_row`).
"""

from python_engines.forecasting.intervals import HorizonQuantiles
from python_engines.forecasting.output import SeriesForecast, forecast_table, run_table
from python_engines.forecasting.prophet_engine import ProphetSettings, prophet_forecast
from python_engines.forecasting.series import HistoryRules, Series
from python_engines.forecasting.windows import ForecastWindows, compute_windows
from python_engines.forecasting.xgboost_engine import XGBoostParams, XGBoostSettings, xgboost_chunk

__all__ = [
    "ForecastWindows",
    "HistoryRules",
    "HorizonQuantiles",
    "ProphetSettings",
    "Series",
    "SeriesForecast",
    "XGBoostParams",
    "XGBoostSettings",
    "compute_windows",
    "forecast_table",
    "prophet_forecast",
    "run_table",
    "xgboost_chunk",
]
