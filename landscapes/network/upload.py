"""A classification data set from an uploaded CSV file: validated, parsed in memory, never saved.

The file is the bytes of a CSV with a header row, numeric feature columns and one label column
(any text or numbers; each distinct value is a class). ``load_csv`` checks it in this order and
stops at the first problem with a ``CsvError`` whose ``problem`` names the kind and whose text
says what is wrong, where, and what is allowed:

    too_large, empty, binary, not_utf8, line_too_long, unreadable, bad_header, duplicate_column,
    too_many_columns, too_few_columns, label_not_found, ragged_row, too_many_rows, too_few_rows,
    missing_values, non_numeric, non_finite, too_many_classes, single_class, tiny_class

Values from the file are quoted with ``quoted`` (Python's repr, cut to ``QUOTE_CHARS``
characters): control characters, bidirectional overrides and line breaks are escaped, a
spreadsheet formula such as ``=cmd|' /C calc'!A0`` is shown as a quoted string and is never
evaluated (the loader only ever calls ``float`` on strings that match a strict number pattern).

The data is parsed from the bytes with ``io.StringIO`` and returned as a ``Dataset`` (float32
tensors): nothing is written to disk. Features are standardized with the training split's mean
and standard deviation, as the generated 2-D sets are; the split is stratified and seeded
(``stratified_split``, in numpy: no scikit-learn import on the upload path).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from .data import Dataset

QUOTE_CHARS = 40
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


@dataclass(frozen=True)
class UploadLimits:
    """What an uploaded file may hold (a label column included in ``max_columns``)."""

    max_bytes: int = 2_000_000
    max_rows: int = 20_000
    max_columns: int = 65
    max_classes: int = 20
    max_line_chars: int = 20_000
    min_rows: int = 10


class CsvError(ValueError):
    """A problem with an uploaded CSV: ``problem`` is its kind (see the module docstring)."""

    def __init__(self, problem: str, message: str):
        super().__init__(message)
        self.problem = problem


def quoted(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr`` of a text from the file, cut to ``limit`` characters (with the full length)."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def _names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(quoted(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _decode(data: bytes, limits: UploadLimits) -> str:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise CsvError(
            "too_large",
            f"the file is {_size(len(data))}, over the limit of {_size(limits.max_bytes)}",
        )
    if not data.strip():
        raise CsvError("empty", "the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvError(
            "not_utf8",
            "the file is UTF-16 text (it starts with a UTF-16 byte-order mark); "
            "save it as 'CSV UTF-8'",
        )
    if b"\x00" in data:
        at = data.index(b"\x00")
        raise CsvError(
            "binary",
            f"the file holds a NUL byte at offset {at:,}: it looks binary, not a CSV text file",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bad = data[e.start : e.start + 4]
        raise CsvError(
            "not_utf8",
            f"the file is not UTF-8 text: byte 0x{data[e.start]:02x} at offset {e.start:,} "
            f"(bytes {bad!r}) cannot be decoded; save it as 'CSV UTF-8'",
        ) from None


def _rows(text: str, limits: UploadLimits) -> tuple[list[list[str]], list[int]]:
    """The non-blank rows (cells stripped) and the file line where each ends."""
    for i, line in enumerate(text.splitlines(), 1):
        if len(line) > limits.max_line_chars:
            raise CsvError(
                "line_too_long",
                f"line {i:,} is {len(line):,} characters long, over the limit of "
                f"{limits.max_line_chars:,}",
            )
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            rows.append([cell.strip() for cell in row])
            lines.append(reader.line_num)
            if len(rows) > limits.max_rows + 1:  # + the header
                raise CsvError(
                    "too_many_rows",
                    f"the file has more than {limits.max_rows:,} data rows (the limit)",
                )
    except csv.Error as e:
        raise CsvError(
            "unreadable",
            f"the CSV cannot be read near line {reader.line_num:,}: {quoted(e)}",
        ) from None
    return rows, lines


def _header(rows: list[list[str]], label_column: str | None, limits: UploadLimits):
    header = rows[0]
    for j, name in enumerate(header, 1):
        if not name:
            raise CsvError("bad_header", f"column {j} has no name in the header row")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise CsvError("duplicate_column", f"the header names column {quoted(name)} twice")
        seen.add(name)
    if len(header) > limits.max_columns:
        raise CsvError(
            "too_many_columns",
            f"the file has {len(header):,} columns, over the limit of {limits.max_columns} "
            f"(features and the label together)",
        )
    if len(header) < 2:
        raise CsvError(
            "too_few_columns",
            f"the file has {len(header)} column ({_names(header)}): it needs at least one "
            f"numeric feature column and a label column",
        )
    label = header[-1] if label_column is None else label_column
    if label not in header:
        raise CsvError(
            "label_not_found",
            f"label column {quoted(label)} not found; the columns are {_names(header)}",
        )
    return header, header.index(label)


def _numbers(name: str, cells: list[str], lines: list[int]) -> np.ndarray:
    """A feature column as float64; ``lines``: the file line of each cell (for messages)."""
    missing = [i for i, c in enumerate(cells) if c.lower() in MISSING]
    if missing:
        raise CsvError(
            "missing_values",
            f"column {quoted(name)} has {len(missing):,} missing value"
            f"{'s' if len(missing) > 1 else ''} (first at line {lines[missing[0]]:,}: "
            f"{quoted(cells[missing[0]])}); fill or remove them",
        )
    for i, c in enumerate(cells):
        if c.lower() in _NON_FINITE:
            raise CsvError(
                "non_finite",
                f"column {quoted(name)} holds the non-finite value {quoted(c)} at line "
                f"{lines[i]:,}",
            )
        if not _NUMBER.fullmatch(c):
            raise CsvError(
                "non_numeric",
                f"column {quoted(name)} is not numeric: line {lines[i]:,} holds "
                f"{quoted(c)}; feature columns must hold numbers only (or name this column "
                f"as the label column)",
            )
    values = np.array([float(c) for c in cells], dtype=np.float64)
    big = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > 1e30))
    if big.size:
        raise CsvError(
            "non_finite",
            f"column {quoted(name)} holds {quoted(cells[big[0]])} at line "
            f"{lines[big[0]]:,}, too large for float32 features",
        )
    return values


def _classes(name: str, cells: list[str], lines: list[int], limits: UploadLimits):
    missing = [i for i, c in enumerate(cells) if c.lower() in MISSING]
    if missing:
        raise CsvError(
            "missing_values",
            f"the label column {quoted(name)} has {len(missing):,} missing value"
            f"{'s' if len(missing) > 1 else ''} (first at line {lines[missing[0]]:,})",
        )
    distinct = set(cells)
    if len(distinct) > limits.max_classes:
        raise CsvError(
            "too_many_classes",
            f"the label column {quoted(name)} has {len(distinct):,} distinct values, over the "
            f"limit of {limits.max_classes} classes (is it a continuous target, or the wrong "
            f"column?)",
        )
    if len(distinct) < 2:
        raise CsvError(
            "single_class",
            f"the label column {quoted(name)} holds a single class, {quoted(cells[0])}: a "
            f"classifier needs at least two",
        )
    numeric = all(_NUMBER.fullmatch(c) for c in distinct)
    names = sorted(distinct, key=(lambda c: (float(c), c)) if numeric else None)
    counts = {c: 0 for c in names}
    for c in cells:
        counts[c] += 1
    tiny = [c for c in names if counts[c] < 2]
    if tiny:
        raise CsvError(
            "tiny_class",
            f"class {quoted(tiny[0])} of {quoted(name)} has a single example; every class "
            f"needs at least 2 (one for training, one for validation)",
        )
    index = {c: k for k, c in enumerate(names)}
    return np.array([index[c] for c in cells], dtype=np.int64), tuple(names)


def stratified_split(y: np.ndarray, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices), sorted: class c gives round(n_val n_c / N)
    validation samples (the rounding remainder to the classes with the largest fractional
    parts; at least 1 and at most n_c - 1 each), drawn by a permutation seeded with ``seed``."""
    classes, counts = np.unique(y, return_counts=True)
    exact = n_val * counts / counts.sum()
    take = np.floor(exact).astype(np.int64)
    for k in np.argsort(-(exact - take), kind="stable")[: n_val - int(take.sum())]:
        take[k] += 1
    take = np.clip(take, 1, counts - 1)
    rng = np.random.default_rng(seed)
    val = []
    for c, k in zip(classes, take, strict=True):
        members = np.flatnonzero(y == c)
        val.append(rng.permutation(members)[:k])
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return train_idx, val_idx


def load_csv(
    data: bytes,
    *,
    label_column: str | None = None,
    limits: UploadLimits | None = None,
    val_fraction: float = 0.25,
    seed: int = 0,
    name: str = "uploaded",
) -> Dataset:
    """Validate and parse an uploaded CSV into a ``Dataset`` (in memory only).

    Args:
        data: the file's bytes (UTF-8, a BOM allowed; comma, semicolon or tab separated,
            detected by ``csv.Sniffer``).
        label_column: the header name of the label column (default: the last column).
        limits: size limits (``UploadLimits()`` by default).
        val_fraction: share of the rows held out for validation, stratified by class.
        seed: the split's seed.
        name: the returned data set's name.

    Returns a ``Dataset`` with ``input_shape`` (F,), ``feature_names`` from the header,
    ``class_names`` the distinct labels (numeric labels in numeric order, texts in code-point
    order). Raises ``CsvError`` (a ``ValueError``) for the first problem found.
    """
    limits = UploadLimits() if limits is None else limits
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    rows, lines = _rows(_decode(data, limits), limits)
    if not rows:
        raise CsvError("empty", "the file holds no rows")
    header, label_at = _header(rows, label_column, limits)
    body, body_lines = rows[1:], lines[1:]
    for line, row in zip(body_lines, body, strict=True):
        if len(row) != len(header):
            raise CsvError(
                "ragged_row",
                f"line {line:,} has {len(row)} fields but the header has {len(header)}",
            )
    if len(body) < limits.min_rows:
        raise CsvError(
            "too_few_rows",
            f"the file has {len(body)} data row{'s' if len(body) != 1 else ''}; at least "
            f"{limits.min_rows} are needed",
        )
    # messages give file lines, 1-based, the header being line 1 (as a spreadsheet shows rows)
    features = [j for j in range(len(header)) if j != label_at]
    x = np.stack([_numbers(header[j], [r[j] for r in body], body_lines) for j in features], 1)
    y, class_names = _classes(header[label_at], [r[label_at] for r in body], body_lines, limits)
    n_val = max(len(class_names), math.ceil(val_fraction * len(y)))
    if len(y) - n_val < len(class_names):
        raise CsvError(
            "too_few_rows",
            f"{len(y)} rows cannot be split into training and validation sets that both hold "
            f"each of the {len(class_names)} classes",
        )
    train_idx, val_idx = stratified_split(y, n_val, seed)
    x_tr, x_va, y_tr, y_va = x[train_idx], x[val_idx], y[train_idx], y[val_idx]
    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-12
    x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std
    return Dataset(
        name=name,
        x_train=torch.as_tensor(x_tr, dtype=torch.float32),
        y_train=torch.as_tensor(y_tr, dtype=torch.int64),
        x_val=torch.as_tensor(x_va, dtype=torch.float32),
        y_val=torch.as_tensor(y_va, dtype=torch.int64),
        n_classes=len(class_names),
        input_shape=(len(features),),
        feature_names=tuple(header[j] for j in features),
        class_names=class_names,
    )


def csv_columns(data: bytes, *, limits: UploadLimits | None = None) -> tuple[str, ...]:
    """The header's column names of an uploaded CSV (for choosing its label column), after the
    file-level checks of ``load_csv`` (size, encoding, line length, readability, header, column
    count); raises the same ``CsvError`` as ``load_csv`` for those problems."""
    limits = UploadLimits() if limits is None else limits
    rows, _ = _rows(_decode(data, limits), limits)
    if not rows:
        raise CsvError("empty", "the file holds no rows")
    header, _ = _header(rows, None, limits)
    return tuple(header)


def dataset_csv(dataset: Dataset, label_column: str = "label") -> bytes:
    """A 2-D or flat data set as the CSV ``load_csv`` reads: a header of its feature names (or
    ``x1, x2, ...``) and ``label_column``, then the training rows and the validation rows, each
    value written with ``repr`` of its float32 value (exact: parsing gives the same float32)."""
    names = dataset.feature_names or tuple(f"x{i + 1}" for i in range(dataset.n_features))
    x = torch.cat([dataset.x_train, dataset.x_val]).reshape(-1, dataset.n_features)
    y = torch.cat([dataset.y_train, dataset.y_val]).tolist()
    classes = dataset.class_names
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*names, label_column])
    for row, label in zip(x.numpy().tolist(), y, strict=True):
        writer.writerow([*(repr(v) for v in row), classes[label] if classes else label])
    return out.getvalue().encode()
