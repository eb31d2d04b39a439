"""Your own data on the network page: a CSV uploaded in this session (issue 18, item 6).

The file is validated by the engine (``landscapes.network.upload.load_csv``), which raises a
``CsvError`` whose ``problem`` names the kind; each kind has its own heading here and the
engine's message (which quotes the file) is shown below it as literal text, never Markdown.

Where the data lives: the file's bytes stay in this session's ``st.session_state`` (the last
valid upload) and in a small in-memory store shared by the server's sessions, keyed by a digest
of the bytes and the label column, so that the cached training (``app.network_compute``) can
find them. Nothing is written to disk: no file, and no ``st.cache_data`` (whose entries may be
persisted); the store is a ``st.cache_resource`` dict in memory. A link says ``data=upload`` but
cannot carry the file: opened elsewhere it falls back to a built-in data set with a note.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from .literal import show_problem
from .network_state import UPLOAD, NetworkState

FILE_KEY = "net_csv"  # the file uploader
LABEL_KEY = "net_csv_label"  # the label-column selectbox
SESSION_KEY = "net_upload"  # this session's last valid upload (an ``Upload``)
PREVIOUS_KEY = "net_prev_data"  # the last built-in data set shown: the fallback
STORE_SIZE = 16  # uploads kept in the shared in-memory store
EXAMPLE = "circles"  # the built-in set offered as an example CSV

# a heading of our own for each kind of problem the engine reports (``CsvError.problem``)
PROBLEM_TITLES = {
    "too_large": "The file is too large.",
    "empty": "The file is empty.",
    "binary": "The file is not a text file.",
    "not_utf8": "The file is not UTF-8 text.",
    "line_too_long": "A line of the file is too long.",
    "unreadable": "The file cannot be read as CSV.",
    "bad_header": "The header row has an unnamed column.",
    "duplicate_column": "Two columns have the same name.",
    "too_many_columns": "The file has too many columns.",
    "too_few_columns": "The file has too few columns.",
    "label_not_found": "The label column is not in the file.",
    "ragged_row": "A row has the wrong number of fields.",
    "too_many_rows": "The file has too many rows.",
    "too_few_rows": "The file has too few rows.",
    "missing_values": "A feature column has missing values.",
    "non_numeric": "A feature column is not numeric.",
    "non_finite": "A feature column holds an infinite value.",
    "too_many_classes": "The label column has too many classes.",
    "single_class": "The label column has only one class.",
    "tiny_class": "A class has too few samples.",
}


@dataclass(frozen=True)
class Upload:
    """A valid upload: the file's name (shown literally), bytes, label column and digest, and
    what the engine found in it."""

    name: str
    data: bytes
    label: str
    digest: str
    n_rows: int
    n_features: int
    n_classes: int


def _upload_api() -> Any:
    from landscapes.network import upload  # lazily: the explorer never pays for torch

    return upload


def digest(data: bytes, label: str) -> str:
    """The upload's identity: SHA-256 of the bytes and the label column (16 hex digits)."""
    return hashlib.sha256(bytes(data) + b"\0" + label.encode()).hexdigest()[:16]


@st.cache_resource
def _store() -> tuple[OrderedDict[str, tuple[bytes, str]], threading.Lock]:
    return OrderedDict(), threading.Lock()


def register(upload: Upload) -> None:
    """Keep ``upload`` in the shared in-memory store (most recent last, ``STORE_SIZE`` kept)."""
    store, lock = _store()
    with lock:
        store[upload.digest] = (upload.data, upload.label)
        store.move_to_end(upload.digest)
        while len(store) > STORE_SIZE:
            store.popitem(last=False)


def dataset(key: str, seed: int) -> Any:
    """The engine's ``Dataset`` of the registered upload ``key``, split with ``seed``."""
    store, lock = _store()
    with lock:
        data, label = store[key]
    return _upload_api().load_csv(data, label_column=label, seed=seed, name="uploaded")


def check(name: str, data: bytes, label: str) -> Upload:
    """Validate a file with the engine; raises its ``CsvError``."""
    loaded = _upload_api().load_csv(data, label_column=label)
    return Upload(
        name=name,
        data=bytes(data),
        label=label,
        digest=digest(data, label),
        n_rows=loaded.n_train + loaded.n_val,
        n_features=loaded.n_features,
        n_classes=loaded.n_classes,
    )


@st.cache_resource(show_spinner=False)
def example_csv() -> bytes:
    """The built-in ``EXAMPLE`` set (default noise, size and seed) as the CSV the page reads."""
    from landscapes.network import load_dataset

    return _upload_api().dataset_csv(load_dataset(EXAMPLE))


def problem_text(error: Exception) -> tuple[str, str]:
    """(heading in our words, the engine's message) of a ``CsvError``."""
    kind = getattr(error, "problem", "")
    return PROBLEM_TITLES.get(kind, "The file cannot be used."), str(error)


# --- widgets (the sidebar, when "your own data" is chosen) ----------------------------------------


def sidebar_widgets() -> None:
    """The uploader, the label column and the example CSV. A file that cannot be used leaves a
    problem for ``show_problems``; a valid one becomes this session's upload."""
    ss = st.session_state
    limits = _upload_api().UploadLimits()
    file = st.file_uploader(
        "CSV file (numeric features and a label column)",
        type=["csv", "txt"],
        key=FILE_KEY,
        # the browser refuses far larger files; the engine says why a file over its limit fails
        max_upload_size=math.ceil(limits.max_bytes / 1e6) + 1,
        help=f"A header row, numeric feature columns and one label column: at most "
        f"{limits.max_bytes / 1e6:g} MB, {limits.max_rows:,} rows, {limits.max_columns} columns "
        f"and {limits.max_classes} classes. It stays in this session and is never saved.",
    )
    if file is not None:
        data = file.getvalue()
        try:
            columns = _upload_api().csv_columns(data)
        except ValueError as e:
            ss.net_upload_problem = problem_text(e)
        else:
            if ss.get(LABEL_KEY) not in columns:
                ss[LABEL_KEY] = columns[-1]
            st.selectbox("Label column", columns, key=LABEL_KEY)
            try:
                ss[SESSION_KEY] = check(file.name, data, ss[LABEL_KEY])
            except ValueError as e:
                ss.net_upload_problem = problem_text(e)
    st.download_button(
        f"Example CSV ({EXAMPLE})",
        data=example_csv(),
        file_name=f"{EXAMPLE}.csv",
        mime="text/csv",
        help=f"The built-in {EXAMPLE} data set as a CSV: upload it to see the same data.",
    )


def resolve(state: NetworkState) -> tuple[NetworkState, str | None]:
    """The state the page computes: with ``data=upload``, this session's upload (registered in
    the store), or, without one, the previous built-in data set and a note saying so."""
    ss = st.session_state
    if state.dataset != UPLOAD:
        ss[PREVIOUS_KEY] = state.dataset
        return state, None
    fallback = ss.get(PREVIOUS_KEY, NetworkState().dataset)
    upload: Upload | None = ss.get(SESSION_KEY)
    if upload is None:
        return replace(state, dataset=fallback, upload=""), (
            "This view uses uploaded data, which a link cannot carry and this session does not "
            f"hold: showing the {fallback} data set instead. Upload a CSV in the sidebar."
        )
    register(upload)
    return replace(state, upload=upload.digest), None


def show_problems(state: NetworkState) -> bool:
    """This run's upload problem (heading, then the engine's message as literal text), and what
    is shown instead; whether there was one."""
    problem = st.session_state.pop("net_upload_problem", None)
    if problem is None:
        return False
    heading, detail = problem
    instead = "the previous upload" if state.dataset == UPLOAD else f"the {state.dataset} data"
    show_problem(f"This CSV cannot be used. {heading} Showing {instead} instead.", detail)
    return True


def describe(upload: Upload | None) -> str:
    """One line on the upload (numbers only: the file's name is shown literally elsewhere)."""
    if upload is None:
        return ""
    return (
        f"Uploaded CSV: {upload.n_rows:,} rows, {upload.n_features} feature"
        f"{'s' * (upload.n_features != 1)}, {upload.n_classes} classes."
    )
