"""The ``optiscape`` console script: ``streamlit run app/main.py`` with the caller's extra flags.

optiscape                                   # http://localhost:8501
optiscape --server.port 8502 --server.headless true
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

MAIN_SCRIPT = Path(__file__).resolve().with_name("main.py")


# the explorer's charts load plotly.min.js from the app's static folder (app/plotly_view.py)
STATIC_SERVING = ["--server.enableStaticServing", "true"]


def streamlit_args(argv: Sequence[str]) -> list[str]:
    """Arguments for the ``streamlit`` command: ``run <app/main.py>``, static serving on, then
    ``argv`` unchanged."""
    return ["run", str(MAIN_SCRIPT), *STATIC_SERVING, *argv]


def launch(args: list[str]) -> None:
    """Hand ``args`` to Streamlit's own command line (as ``streamlit <args>``); exits when it does."""
    from streamlit.web import cli as stcli

    stcli.main(args=args, prog_name="streamlit")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``optiscape``: start the app, passing extra arguments through to Streamlit."""
    launch(streamlit_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
