"""Measure every view's load time in a real headless Chromium and save the README screenshots.

    python -m dashboard.screenshots [--data-dir data] [--out docs/screenshots] [--host HOSTNAME]

Starts ``streamlit run dashboard/app.py`` on a free localhost port over the published serving copy, then for
each view measures (1) a first page load with empty query caches, (2) a page reload with warm caches and
(3) a switch to the view from another one in the sidebar, the way a user moves around. Prints a Markdown table
and writes one full-page PNG per view.
"""

from __future__ import annotations

import argparse
import logging
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
}


@dataclass(frozen=True)
class Timing:
    view: str
    first_load: float
    reload: float
    switch: float


def soonest_hostname(data_dir: Path) -> str | None:
    """The hostname that breaches soonest: the deep dive worth showing."""
    with duckdb.connect(str(serving_file(ProjectPaths.discover(data_dir))), read_only=True) as con:
        rows = con.execute(
            "select hostname from capacity_risks order by days_to_breach, hostname, resource limit 1"
        ).fetchall()
    return rows[0][0] if rows else None


def view_url(base: str, view: str, host: str | None) -> str:
    params = {"view": view} | ({"host": host} if host and view == "Host deep dive" else {})
    return f"{base}/?{urllib.parse.urlencode(params)}"


def measure(data_dir: Path, out: Path | None, host: str | None, width: int = 1440) -> list[Timing]:
    """Load, reload and switch to every view in Chromium; save screenshots into ``out`` when given."""
    binary = find_chromium()
    if binary is None:
        raise SystemExit("no Chromium found: install it (apt-get install -y chromium) or set HORIZONSCALE_CHROMIUM")
    timings = []
    with tempfile.TemporaryDirectory(prefix="horizonscale-shots-") as work:
        server_log = Path(work) / "streamlit.log"
        with streamlit_server(data_dir, server_log) as base, Chromium(binary, width=width) as browser:
            for view, file_name in VIEWS.items():
                url = view_url(base, view, host)
                first = browser.load(url, view)
                again = browser.load(url, view)
                other = next(name for name in VIEWS if name != view)
                browser.load(view_url(base, other, host), other)
                switch = browser.switch_view(view)
                timings.append(Timing(view, first.seconds, again.seconds, switch.seconds))
                log.info(
                    "%s: first %.2f s, reload %.2f s, switch %.2f s", view, first.seconds, again.seconds, switch.seconds
                )
                if out is not None:
                    browser.load(url, view)
                    browser.screenshot(out / file_name)
    return timings


def markdown(timings: list[Timing]) -> str:
    lines = [
        "| view | first page load (cold caches) | page reload | switch from another view |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {t.view} | {t.first_load:.2f} s | {t.reload:.2f} s | {t.switch:.2f} s |" for t in timings]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="warehouse directory (default: $HORIZONSCALE_DATA_DIR or ./data)")
    parser.add_argument("--out", default="docs/screenshots", help="where the PNGs go (default docs/screenshots)")
    parser.add_argument("--no-screenshots", action="store_true", help="only measure load times")
    parser.add_argument("--host", help="hostname for the deep dive (default: the one that breaches soonest)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir = ProjectPaths.discover(args.data_dir).data_dir
    if not serving_file(ProjectPaths.discover(data_dir)).is_file():
        print(f"no serving copy under {data_dir}: run `make run` first", file=sys.stderr)
        return 2
    host = args.host or soonest_hostname(data_dir)
    out = None if args.no_screenshots else Path(args.out).resolve()
    print(markdown(measure(data_dir, out, host)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
