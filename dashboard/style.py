"""Names and colors shared by tables and charts, so a model or a status looks the same everywhere."""

from __future__ import annotations

from collections.abc import Iterable

MODEL_LABELS: dict[str, str] = {
    "prophet": "Prophet",
    "xgboost": "XGBoost",
    "seasonal_naive": "Seasonal naive",
}
#: Champions that are no engine of the registry (no tournament, no backtest, no audit row): named, never counted
#: among the engines (the model audit shows one "wins" metric per MODEL_LABELS entry).
CHAMPION_LABELS: dict[str, str] = {"young_trend": "Young-series line"}
MODEL_COLORS: dict[str, str] = {
    "prophet": "#1f77b4",
    "xgboost": "#ff7f0e",
    "seasonal_naive": "#7f7f7f",
}
#: Colors for engines not listed above (an engine newly added to the registry shows up without a code change).
SPARE_COLORS: tuple[str, ...] = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
STATUS_COLORS: dict[str, str] = {"RED": "#d62728", "AMBER": "#ffb000", "GREEN": "#2ca02c"}


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model) or CHAMPION_LABELS.get(model, model)


def model_order(models: Iterable[str]) -> list[str]:
    """The engines among ``models``: the known ones in the usual order, then any other by name."""
    present = set(models)
    return [m for m in MODEL_COLORS if m in present] + sorted(present - set(MODEL_COLORS))


def model_colors(models: Iterable[str]) -> dict[str, str]:
    """Engine -> color for the engines among ``models``, in :func:`model_order`; unknown ones get spare colors."""
    ordered = model_order(models)
    spare = iter(SPARE_COLORS * (1 + len(ordered) // len(SPARE_COLORS)))
    return {m: MODEL_COLORS[m] if m in MODEL_COLORS else next(spare) for m in ordered}


def days(count: int) -> str:
    """``1 day``, ``5 days``."""
    return f"{count} day" if count == 1 else f"{count} days"
