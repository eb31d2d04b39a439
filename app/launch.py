"""What every way of starting the app passes to ``streamlit run`` (the ``optiscape`` command, the
replicas behind the proxy, the test and benchmark servers): the router script and static
serving."""

from __future__ import annotations

from pathlib import Path

MAIN_SCRIPT = Path(__file__).resolve().with_name("main.py")

# the explorer's charts load plotly.min.js from the app's static folder (app/plotly_view.py)
STATIC_SERVING = ["--server.enableStaticServing", "true"]
