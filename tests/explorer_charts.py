"""The figures the explorer's charts (``app.plotly_view``, a custom component) hold, for AppTest."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest


def chart_figures(at: AppTest) -> list[dict[str, Any]]:
    """Each chart's figure (data, layout, frames, config) in page order: contour, 3-D, curves."""
    return [json.loads(element.proto.bytes) for element in at.get("bidi_component")]
