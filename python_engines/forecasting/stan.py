"""Prophet's own compiled Stan model, run directly: MAP fit of one series' stan data.

Prophet's Python wrapper spends about as long around a fit as Stan spends inside it: it converts every
array to nested Python lists (stanio then walks them value by value), and cmdstanpy adds temp-file
bookkeeping and a CSV parse of every transformed parameter. Here the same ``prophet_model.bin`` is run with
the same optimizer and data, but the JSON is written straight from numpy with ujson and only the parameter
columns of the one output row are parsed. A ``timeout`` kills a fit that hangs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import ujson


class StanFitError(RuntimeError):
    """The optimizer exited abnormally or did not answer within the time limit."""


@dataclass(frozen=True)
class StanOptions:
    algorithm: str = "lbfgs"
    iterations: int = 10_000
    # Stan's default tol_rel_grad is 1e7; 1e9 stops the long tail of tiny L-BFGS steps that the Laplace
    # prior causes, with the same backtest accuracy (bench/README.md).
    tol_rel_obj: float = 1e4
    tol_rel_grad: float = 1e9


@cache
def prophet_model_binary() -> Path:
    """The Stan executable that ships inside the prophet wheel."""
    spec = importlib.util.find_spec("prophet")  # locate without importing prophet (pandas, cmdstanpy, ...)
    if spec is None or not spec.submodule_search_locations:
        raise StanFitError("the prophet package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "stan_model" / "prophet_model.bin"
    if not path.is_file():
        raise StanFitError(f"prophet's compiled Stan model is missing at {path}")
    return path


def _json_ready(values: Mapping[str, object]) -> dict[str, object]:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in values.items()}


def _parse_output(csv_text: str, wanted: tuple[str, ...]) -> dict[str, np.ndarray]:
    lines = [line for line in csv_text.splitlines() if line and not line.startswith("#")]
    if len(lines) < 2:
        raise StanFitError("Stan wrote no estimates")
    header = lines[0].split(",")
    values = np.array(lines[1].split(","), dtype=np.float64)
    columns: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        base = name.split(".", 1)[0]
        if base in wanted:
            columns.setdefault(base, []).append(index)
    return {name: values[columns[name]] for name in wanted}


def _run_once(
    data_file: str, init: Mapping[str, object], work: str, options: StanOptions, timeout: float | None, attempt: int
) -> tuple[int, str, str]:
    """One optimizer run: (exit code, output CSV text or "", last lines of its messages)."""
    init_file, out_file = os.path.join(work, f"init{attempt}.json"), os.path.join(work, f"out{attempt}.csv")
    with open(init_file, "w") as handle:
        ujson.dump(_json_ready(init), handle)
    command = [str(prophet_model_binary()), "optimize", f"algorithm={options.algorithm}"]
    if options.algorithm == "lbfgs":
        command += [f"tol_rel_obj={options.tol_rel_obj:g}", f"tol_rel_grad={options.tol_rel_grad:g}"]
    command += [f"iter={options.iterations}", "data", f"file={data_file}", f"init={init_file}"]
    command += ["output", f"file={out_file}", "refresh=0"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:  # subprocess.run has already killed the optimizer
        raise StanFitError(f"Stan optimizer did not finish within {timeout:g} s") from exc
    csv_text = Path(out_file).read_text() if os.path.exists(out_file) else ""
    tail = " | ".join((done.stderr or done.stdout or "").strip().splitlines()[-2:])
    return done.returncode, csv_text, tail


def optimize(
    data: Mapping[str, object],
    init: Mapping[str, object],
    options: StanOptions,
    timeout: float | None,
    wanted: tuple[str, ...] = ("k", "m", "delta", "sigma_obs", "beta"),
) -> tuple[dict[str, np.ndarray], str]:
    """MAP estimate of Prophet's Stan model for ``data`` starting at ``init``, and how it ended.

    L-BFGS sometimes stops with "line search failed to achieve a sufficient decrease" next to the optimum
    (the Laplace prior on trend changes is not smooth). Prophet then reruns with Newton, which can take
    minutes. Here the optimizer restarts once from where it stopped (fresh curvature estimate); if it stalls
    again its last iterate is kept and the outcome says ``stalled``. ``wanted`` must name the init parameters.
    """
    with tempfile.TemporaryDirectory(prefix="hs_stan_") as work:
        data_file = os.path.join(work, "data.json")
        with open(data_file, "w") as handle:
            ujson.dump(_json_ready(data), handle)
        code, csv_text, tail = _run_once(data_file, init, work, options, timeout, 0)
        if code == 0:
            return _parse_output(csv_text, wanted), "converged"
        if not csv_text:
            raise StanFitError(f"Stan optimizer failed (exit {code}): {tail}")
        stopped = _parse_output(csv_text, wanted)
        restart = {name: (v if v.size > 1 or name in ("delta", "beta") else float(v[0])) for name, v in stopped.items()}
        restart["sigma_obs"] = max(float(stopped["sigma_obs"][0]), 1e-6)
        code, csv_text, tail = _run_once(data_file, restart, work, options, timeout, 1)
        if code == 0:
            return _parse_output(csv_text, wanted), "restarted"
        return (_parse_output(csv_text, wanted) if csv_text else stopped), "stalled"
