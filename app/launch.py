"""What every way of starting the app passes to ``streamlit run`` (the ``optiscape`` command, the
replicas behind the proxy, the test and benchmark servers): the router script, static
serving and no usage statistics."""

from __future__ import annotations

from pathlib import Path

MAIN_SCRIPT = Path(__file__).resolve().with_name("main.py")

# the explorer's charts load plotly.min.js from the app's static folder (app/plotly_view.py);
# and no usage statistics: a class's page runs are reported nowhere, and every Streamlit command
# of a page run is cheaper without them
SERVER_OPTIONS = [
    "--server.enableStaticServing",
    "true",
    "--browser.gatherUsageStats",
    "false",
]
STATIC_SERVING = SERVER_OPTIONS  # the name other modules knew first
