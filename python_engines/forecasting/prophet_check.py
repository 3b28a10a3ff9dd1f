"""Start-up check that the installed Prophet still ships the Stan model this engine was written against.

:mod:`.prophet_engine` does not call Prophet's Python code: it writes the Stan data block itself and runs the
compiled ``prophet_model.bin`` directly (:mod:`.stan`). A Prophet release that renames, reorders or adds a data
field or parameter would not fail loudly there: Stan reads JSON by name, so a missing field aborts, but a new
optional meaning of an old field (``trend_indicator = 2`` is "flat" since 1.1) or a changed prior would quietly
change every forecast. The exact solver (:mod:`.prophet_map`) implements the model block's priors and
likelihood in numpy, so a changed prior would make it silently disagree with Prophet. So before a fleet run
we check four things and stop with one message naming what differs and what to do:

1. the installed ``prophet`` version lies in :data:`VERIFIED_PROPHET` (the range ``pyproject.toml`` pins);
2. the model source shipped beside the binary declares exactly :data:`DATA_BLOCK` and :data:`PARAMETERS`;
3. its model block states exactly the priors and likelihood of :data:`MODEL_BLOCK`;
4. a fit of a small known series (a line plus a weekly wave) gives back its slope and level, through Stan and
   through the exact solver, and the exact solver's optimum is at least as good as Stan's.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata

import numpy as np

from python_engines.forecasting.prophet_map import map_linear, negative_log_posterior
from python_engines.forecasting.stan import StanFitError, StanOptions, optimize, prophet_model_binary

#: The Prophet releases this engine was verified on (lower inclusive, upper exclusive); pyproject.toml pins it.
VERIFIED_PROPHET = ((1, 5, 0), (1, 6, 0))
#: Prophet's Stan data block, in declaration order, as HorizonScale fills it.
DATA_BLOCK = ("T", "K", "t", "cap", "y", "S", "t_change", "X", "sigmas", "tau", "trend_indicator", "s_a", "s_m")
PARAMETERS = ("k", "m", "delta", "sigma_obs", "beta")
#: The statements of Prophet's model block (whitespace removed) that :mod:`.prophet_map` solves.
MODEL_BLOCK = (
    "k~normal(0,5);",
    "m~normal(0,5);",
    "delta~double_exponential(0,tau);",
    "sigma_obs~normal(0,0.5);",
    "beta~normal(0,sigmas);",
    "y~normal_id_glm(X_sa,trend.*(1+X_sm*beta),beta,sigma_obs);",
)

_FIX = "install the verified release with `pip install -c constraints.txt 'prophet>=1.5,<1.6'` (or `make install`)"


class ProphetModelMismatchError(RuntimeError):
    """The installed Prophet is not the one the engine was verified on."""


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def check_version(installed: str) -> str | None:
    """Why ``installed`` is outside :data:`VERIFIED_PROPHET`, or None."""
    low, high = VERIFIED_PROPHET
    if low <= _version_tuple(installed) < high:
        return None
    span = f"{'.'.join(map(str, low))} <= version < {'.'.join(map(str, high))}"
    return f"prophet {installed} is installed, but the Prophet engine was verified on {span}"


def declared_names(stan_source: str, block: str) -> tuple[str, ...]:
    """Variable names declared in one top-level block (``data``, ``parameters``) of a Stan program."""
    found = re.search(rf"^{block}\s*{{(.*?)^}}", stan_source, flags=re.MULTILINE | re.DOTALL)
    if found is None:
        return ()
    body = re.sub(r"//[^\n]*", "", found.group(1))
    return tuple(re.findall(r"(\w+)\s*;", body))


def check_declarations(stan_source: str) -> str | None:
    """Why the model source does not declare the expected data and parameters, or None."""
    for block, expected in (("data", DATA_BLOCK), ("parameters", PARAMETERS)):
        names = declared_names(stan_source, block)
        if names != expected:
            missing = [n for n in expected if n not in names]
            extra = [n for n in names if n not in expected]
            detail = f"missing {missing}, unexpected {extra}" if missing or extra else "same names, another order"
            return f"Prophet's Stan {block} block differs from the one the engine writes ({detail})"
    return None


def model_statements(stan_source: str) -> tuple[str, ...]:
    """The model block's statements with comments and whitespace removed."""
    found = re.search(r"^model\s*{(.*?)^}", stan_source, flags=re.MULTILINE | re.DOTALL)
    if found is None:
        return ()
    body = re.sub(r"\s+", "", re.sub(r"//[^\n]*", "", found.group(1)))
    return tuple(statement + ";" for statement in body.split(";") if statement)


def check_model_block(stan_source: str) -> str | None:
    """Why the model block's priors or likelihood differ from what the exact solver solves, or None."""
    statements = model_statements(stan_source)
    if statements == MODEL_BLOCK:
        return None
    changed = [s for s in statements if s not in MODEL_BLOCK] or [s for s in MODEL_BLOCK if s not in statements]
    return f"Prophet's Stan model block differs from the one the exact solver implements (e.g. {changed[:2]})"


def check_known_fit() -> str | None:
    """Fit y = 0.2 + 0.5 t + a weekly wave (scaled units) and check the slope and level come back."""
    days = np.arange(364, dtype=np.float64)
    t = days / days[-1]
    weekly = np.column_stack([np.sin(2 * np.pi * days / 7), np.cos(2 * np.pi * days / 7)])
    y = 0.2 + 0.5 * t + 0.05 * weekly[:, 0]
    data = {
        "T": int(t.size),
        "S": 1,
        "K": 2,
        "tau": 0.05,
        "trend_indicator": 0,
        "y": y,
        "t": t,
        "cap": np.zeros(t.size),
        "t_change": np.array([0.5]),
        "X": weekly,
        "sigmas": np.full(2, 10.0),
        "s_a": np.ones(2),
        "s_m": np.zeros(2),
    }
    init = {"k": 0.0, "m": 0.0, "delta": np.zeros(1), "beta": np.zeros(2), "sigma_obs": 1.0}
    try:
        params, _ = optimize(data, init, StanOptions(), timeout=60.0)
    except StanFitError as exc:
        return f"Prophet's compiled Stan model could not fit a known series: {exc}"
    exact, _ = map_linear(data)
    for name, fitted in (("Prophet's compiled Stan model", params), ("The exact solver", exact)):
        slope = float(fitted["k"][0] + fitted["delta"][0] / 2)  # mean slope over the two halves
        level, wave = float(fitted["m"][0]), float(fitted["beta"][0])
        if abs(slope - 0.5) > 0.02 or abs(level - 0.2) > 0.02 or abs(wave - 0.05) > 0.01:
            return (
                f"{name} fitted a known line badly "
                f"(slope {slope:.3f} vs 0.5, level {level:.3f} vs 0.2, weekly {wave:.3f} vs 0.05)"
            )
    if negative_log_posterior(data, exact) > negative_log_posterior(data, params) + 1e-6:
        return "the exact solver found a worse optimum than Prophet's compiled Stan model on a known series"
    return None


@cache
def verify_prophet_model() -> str:
    """Run the four checks once per process; return the verified version or raise one clear error."""
    try:
        installed = metadata.version("prophet")
    except metadata.PackageNotFoundError as exc:
        raise ProphetModelMismatchError(f"the prophet package is not installed: {_FIX}") from exc
    source = prophet_model_binary().with_name("prophet.stan")
    text = source.read_text() if source.is_file() else None
    problems = [
        check_version(installed),
        check_declarations(text) if text is not None else f"{source} is missing",
        check_model_block(text) if text is not None else None,
        check_known_fit(),
    ]
    problems = [p for p in problems if p]
    if problems:
        raise ProphetModelMismatchError("; ".join(problems) + f". The Prophet engine cannot run safely: {_FIX}.")
    return installed
