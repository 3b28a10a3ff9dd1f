"""Names and colors shared by tables and charts, so a model or a status looks the same everywhere."""

from __future__ import annotations

MODEL_LABELS: dict[str, str] = {
    "prophet": "Prophet",
    "xgboost": "XGBoost",
    "seasonal_naive": "Seasonal naive",
}
MODEL_COLORS: dict[str, str] = {
    "prophet": "#1f77b4",
    "xgboost": "#ff7f0e",
    "seasonal_naive": "#7f7f7f",
}
STATUS_COLORS: dict[str, str] = {"RED": "#d62728", "AMBER": "#ffb000", "GREEN": "#2ca02c"}


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def days(count: int) -> str:
    """``1 day``, ``5 days``."""
    return f"{count} day" if count == 1 else f"{count} days"
