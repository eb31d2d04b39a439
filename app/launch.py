"""What every way of starting the app passes to ``streamlit run`` (the ``optiscape`` command, the
replicas behind the proxy, the test and benchmark servers): the router script, static
serving, no usage statistics, no source-file watcher and no forced collection after each run."""

from __future__ import annotations

from pathlib import Path

MAIN_SCRIPT = Path(__file__).resolve().with_name("main.py")

# the explorer's charts load plotly.min.js from the app's static folder (app/plotly_view.py);
# and no usage statistics: a class's page runs are reported nowhere, and every Streamlit command
# of a page run is cheaper without them
# No file watcher: Streamlit's watcher resolves the real path of every file of every imported
# module (torch's thousands) once for each new session, about 0.25 s of CPU per student that
# keeps the whole class waiting (bench/classroom.py). A served app's sources do not change;
# `streamlit run app/main.py` for development keeps watching them.
# No full garbage collection after every page run: with torch loaded, `gc.collect(2)` costs tens
# of milliseconds, and a class's 30 reruns of one Step paid it 30 times over; Python's own
# generational collector still runs.
SERVER_OPTIONS = [
    "--server.enableStaticServing",
    "true",
    "--browser.gatherUsageStats",
    "false",
    "--server.fileWatcherType",
    "none",
    "--runner.postScriptGC",
    "false",
]
STATIC_SERVING = SERVER_OPTIONS  # the name other modules knew first
