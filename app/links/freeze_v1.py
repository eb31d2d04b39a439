"""Write ``app/links/v1_defaults.json``, the frozen ``v=1`` default tables, from a git revision.

The tables were Python dictionaries at the end of ``app/state.py`` up to commit ``931c0a7``; this
script read them from there once and wrote them as JSON. It is kept to show where the data came
from and to re-create it exactly; nobody edits the JSON by hand, and nobody reruns this script to
"update" it: the tables are the meaning of links already shared, and a changed engine default does
not change them (see ``app.links.v1``)::

    python -m app.links.freeze_v1 931c0a7 > app/links/v1_defaults.json
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

TABLES = (
    "V1_STATE",
    "V1_OPTIMIZER_DEFAULTS",
    "V1_LANDSCAPE_PARAMS",
    "V1_START_FOLLOWS_PARAMS",
    "V1_STARTS",
    "V1_SCHEDULE_DEFAULTS",
)


def tables_at(revision: str) -> dict[str, object]:
    """The ``V1_*`` literals of ``app/state.py`` at ``revision`` (read, never executed)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:app/state.py"], check=True, capture_output=True, text=True
    ).stdout
    found: dict[str, object] = {}
    for node in ast.parse(source).body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        name = getattr(target, "id", None)
        if name in TABLES:
            value = node.value
            if isinstance(value, ast.Call):  # frozenset({...})
                value = value.args[0]
            found[name] = ast.literal_eval(value)
    return found


def main(revision: str) -> None:
    tables = tables_at(revision)
    out = {
        "about": "Frozen v=1 link defaults, generated once by app/links/freeze_v1.py from "
        f"app/state.py at {revision}. Never edit by hand.",
        "state": tables["V1_STATE"],
        "optimizers": tables["V1_OPTIMIZER_DEFAULTS"],
        "landscape_params": tables["V1_LANDSCAPE_PARAMS"],
        "start_follows_params": sorted(tables["V1_START_FOLLOWS_PARAMS"]),
        "starts": tables["V1_STARTS"],
        "schedule": tables["V1_SCHEDULE_DEFAULTS"],
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "931c0a7")
