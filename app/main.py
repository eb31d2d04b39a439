"""optiscape: the app's entry point, a router over its pages.

Run with ``optiscape`` or ``streamlit run app/main.py``. Each page is a script under ``app/views/``
that keeps its own view in the URL; the explorer is the default page, so a bare link opens it.
Optimizers and surfaces of your own: ``OPTISCAPE_PLUGINS`` (``app.plugins``).
"""

from __future__ import annotations

import streamlit as st

from app import plugins, process, warmup
from app.literal import show_problem

st.set_page_config(page_title="optiscape", page_icon=":material/landscape:", layout="wide")
for name, error in plugins.load():
    show_problem(
        "A plugin module could not be loaded; the app runs without it.", f"{name}: {error}"
    )

PAGES = {
    "Explore": [
        st.Page("views/explorer.py", title="Explorer", icon=":material/landscape:", default=True),
    ],
    "Networks": [
        st.Page(
            "views/network.py",
            title="Network landscape",
            icon=":material/hub:",
            url_path="network",
        ),
        st.Page("views/deep.py", title="Deep learning", icon=":material/layers:", url_path="deep"),
    ],
    "Tune": [
        st.Page(
            "views/search.py",
            title="Hyperparameter search",
            icon=":material/tune:",
            url_path="search",
        ),
    ],
    "Diagnose": [
        st.Page(
            "views/sweep.py",
            title="Learning-rate sweep",
            icon=":material/show_chart:",
            url_path="sweep",
        ),
        st.Page(
            "views/basins.py",
            title="Basins of attraction",
            icon=":material/grid_on:",
            url_path="basins",
        ),
    ],
    "Teach": [
        st.Page("views/lessons.py", title="Lessons", icon=":material/school:", url_path="lessons"),
    ],
}

with st.sidebar:
    st.title("optiscape")
st.navigation(PAGES).run()
process.freeze_startup_objects()
warmup.start()  # once per process, in the background (OPTISCAPE_WARMUP, app/warmup.py)
