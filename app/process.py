"""Settings of the app's server process."""

from __future__ import annotations

import gc
import threading

_frozen = threading.Event()


def freeze_startup_objects() -> None:
    """Once per process, after its first page: move every object alive then to the garbage
    collector's permanent generation.

    They are mostly the imported libraries (torch, Streamlit, Plotly, pandas: some 270 000
    objects) that every full collection would otherwise traverse again, for 170-190 ms on this
    machine: a pause in whichever rerun it happens to fall, several times a session. Frozen, they
    are never collected; the first page's own objects that become garbage later are the only
    cost (once, bounded)."""
    if _frozen.is_set():
        return
    _frozen.set()
    gc.collect()
    gc.freeze()
