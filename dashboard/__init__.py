"""HorizonScale executive dashboard: Streamlit + plotly over the published serving copy of the marts.

Start it with ``make dashboard`` (or ``streamlit run dashboard/app.py``). It only ever reads
``$HORIZONSCALE_DATA_DIR/serving/horizonscale.duckdb``, read-only, with bound parameters.
"""
