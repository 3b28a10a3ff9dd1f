"""Streamlit entry point: ``streamlit run dashboard/app.py`` (or ``make dashboard``).

Streamlit runs this file as a script with only ``dashboard/`` on ``sys.path``; the project root is added so
the modules import as the ``dashboard`` package, the same way the tests import them.
"""

import sys
from pathlib import Path

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from dashboard.main import main  # noqa: E402

main()
