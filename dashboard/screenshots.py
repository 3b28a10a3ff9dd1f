"""Measure every view's load time in a real headless Chromium and save the README screenshots.

    python -m dashboard.screenshots [--data-dir data] [--out docs/screenshots] [--host HOSTNAME]

Starts ``streamlit run dashboard/app.py`` on a free localhost port over the published serving copy, then for
each view measures (1) a first page load with its queries not yet cached (the very first one also pays for
the server's imports and the browser's first download of the app), (2) a page reload, and (3) switching to the
view from another one in the sidebar, the way a user moves around (median of a few rounds). Times run from
navigation or click until the app has finished its run and every chart is drawn. Prints a Markdown table
and writes one full-page PNG per view.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dashboard.browser import Chromium, find_chromium, streamlit_server
from python_engines.paths import ProjectPaths
from python_engines.serving import serving_file

log = logging.getLogger("horizonscale.dashboard.screenshots")

VIEWS: dict[str, str] = {
    "Fleet health": "fleet_health.png",
    "Risk heatmap": "risk_heatmap.png",
    "Model audit": "model_audit.png",
    "Host deep dive": "host_deep_dive.png",
    "Right-sizing": "rightsizing.png",
    "What-if": "whatif.png",
}


@dataclass(frozen=True)
class Timing:
    view: str
    first_load: float
    reload: float
    switches: tuple[float, ...]

    @property
    def switch(self) -> float:
        return statistics.median(self.switches)


def soonest_hostname(data_dir: Path) -> str | None:
    """The hostname that breaches soonest: the deep dive worth showing."""
    with duckdb.connect(str(serving_file(ProjectPaths.discover(data_dir))), read_only=True) as con:
        rows = con.execute(
            "select hostname from capacity_risks "
            "order by days_to_breach, breach_probability desc, hostname, resource limit 1"
        ).fetchall()
    return rows[0][0] if rows else None


def view_url(base: str, view: str, host: str | None) -> str:
    params = {"view": view} | ({"host": host} if host and view == "Host deep dive" else {})
    return f"{base}/?{urllib.parse.urlencode(params)}"


def measure(data_dir: Path, out: Path | None, host: str | None, rounds: int = 3, width: int = 1440) -> list[Timing]:
    """Load and reload every view, then switch between them ``rounds`` times; screenshots into ``out``."""
    binary = find_chromium()
    if binary is None:
        raise SystemExit("no Chromium found: install it (apt-get install -y chromium) or set HORIZONSCALE_CHROMIUM")
    loads: dict[str, tuple[float, float]] = {}
    switches: dict[str, list[float]] = {view: [] for view in VIEWS}
    with tempfile.TemporaryDirectory(prefix="horizonscale-shots-") as work:
        server_log = Path(work) / "streamlit.log"
        with streamlit_server(data_dir, server_log) as base, Chromium(binary, width=width) as browser:
            for view, file_name in VIEWS.items():
                first = browser.load(view_url(base, view, host), view)
                again = browser.load(view_url(base, view, host), view)
                loads[view] = (first.seconds, again.seconds)
                log.info("%s: first load %.2f s, reload %.2f s", view, first.seconds, again.seconds)
                if out is not None:
                    browser.screenshot(out / file_name)
            order = list(VIEWS)
            for _ in range(rounds):
                for view in order[1:] + order[:1]:
                    switches[view].append(browser.switch_view(view).seconds)
    return [Timing(view, *loads[view], tuple(switches[view])) for view in VIEWS]


def markdown(timings: list[Timing]) -> str:
    lines = [
        "| view | first page load (cold query cache) | page reload | switch from another view (median) |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {t.view} | {t.first_load:.2f} s | {t.reload:.2f} s | {t.switch:.2f} s |" for t in timings]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines.append(f"\n{os.cpu_count()} CPUs, load average {load} at the end of the run.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="warehouse directory (default: $HORIZONSCALE_DATA_DIR or ./data)")
    parser.add_argument("--out", default="docs/screenshots", help="where the PNGs go (default docs/screenshots)")
    parser.add_argument("--no-screenshots", action="store_true", help="only measure load times")
    parser.add_argument("--host", help="hostname for the deep dive (default: the one that breaches soonest)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of switching between views (default 3)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir = ProjectPaths.discover(args.data_dir).data_dir
    if not serving_file(ProjectPaths.discover(data_dir)).is_file():
        print(f"no serving copy under {data_dir}: run `make run` first", file=sys.stderr)
        return 2
    host = args.host or soonest_hostname(data_dir)
    out = None if args.no_screenshots else Path(args.out).resolve()
    print(markdown(measure(data_dir, out, host, rounds=args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
