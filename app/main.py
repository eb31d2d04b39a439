"""optiscape: the app's entry point, a router over its pages.

Run with ``optiscape`` or ``streamlit run app/main.py``. Each page is a script under ``app/pages/``
that keeps its own view in the URL; the explorer is the default page, so a bare link opens it.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="optiscape", page_icon=":material/landscape:", layout="wide")

PAGES = {
    "Explore": [
        st.Page("pages/explorer.py", title="Explorer", icon=":material/landscape:", default=True),
    ],
}

with st.sidebar:
    st.title("optiscape")
st.navigation(PAGES).run()
