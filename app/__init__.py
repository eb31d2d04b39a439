"""The optiscape browser app: Streamlit pages, widgets and Plotly figure builders.

Nothing here does maths or holds torch tensors. The app asks the engine (``landscapes``,
``optimizers``) for numpy arrays through cached calls in ``app.compute``, turns them into Plotly
figures with the pure functions of ``app.charts`` and draws them in the pages under
``app/views/`` (``app/main.py`` is the router).

Start it with the ``optiscape`` console script (``app.cli:main``) or
``streamlit run app/main.py``.
"""
