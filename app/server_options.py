"""What every optiscape server process is started with: the app's script and the Streamlit
options ``optiscape`` always adds (shared by ``app.cli``, ``app.replicas`` and ``app.serving``,
which import it rather than each other)."""

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
