"""Start-up check that the installed Prophet still ships the Stan model this engine was written against.

:mod:`.prophet_engine` does not call Prophet's Python code: it writes the Stan data block itself and runs the
compiled ``prophet_model.bin`` directly (:mod:`.stan`). A Prophet release that renames, reorders or adds a data
field or parameter would not fail loudly there: Stan reads JSON by name, so a missing field aborts, but a new
optional meaning of an old field (``trend_indicator = 2`` is "flat" since 1.1) or a changed prior would quietly
change every forecast. So before a fleet run we check three things and stop with one message naming what
differs and what to do:

1. the installed ``prophet`` version lies in :data:`VERIFIED_PROPHET` (the range ``pyproject.toml`` pins);
2. the model source shipped beside the binary declares exactly :data:`DATA_BLOCK` and :data:`PARAMETERS`;
3. a fit of a small known series (a line plus a weekly wave) gives back its slope and level.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata

import numpy as np

from python_engines.forecasting.stan import StanFitError, StanOptions, optimize, prophet_model_binary

#: The Prophet releases this engine was verified on (lower inclusive, upper exclusive); pyproject.toml pins it.
VERIFIED_PROPHET = ((1, 5, 0), (1, 6, 0))
#: Prophet's Stan data block, in declaration order, as HorizonScale fills it.
DATA_BLOCK = ("T", "K", "t", "cap", "y", "S", "t_change", "X", "sigmas", "tau", "trend_indicator", "s_a", "s_m")
PARAMETERS = ("k", "m", "delta", "sigma_obs", "beta")

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
    slope = float(params["k"][0] + params["delta"][0] / 2)  # mean slope over the two halves
    level, wave = float(params["m"][0]), float(params["beta"][0])
    if abs(slope - 0.5) > 0.02 or abs(level - 0.2) > 0.02 or abs(wave - 0.05) > 0.01:
        return (
            "Prophet's compiled Stan model fitted a known line badly "
            f"(slope {slope:.3f} vs 0.5, level {level:.3f} vs 0.2, weekly {wave:.3f} vs 0.05)"
        )
    return None


@cache
def verify_prophet_model() -> str:
    """Run the three checks once per process; return the verified version or raise one clear error."""
    try:
        installed = metadata.version("prophet")
    except metadata.PackageNotFoundError as exc:
        raise ProphetModelMismatchError(f"the prophet package is not installed: {_FIX}") from exc
    source = prophet_model_binary().with_name("prophet.stan")
    problems = [
        check_version(installed),
        check_declarations(source.read_text()) if source.is_file() else f"{source} is missing",
        check_known_fit(),
    ]
    problems = [p for p in problems if p]
    if problems:
        raise ProphetModelMismatchError("; ".join(problems) + f". The Prophet engine cannot run safely: {_FIX}.")
    return installed
