"""Uploaded CSV data sets (landscapes.network.upload): one test per problem and its message,
hostile content quoted safely, and a good file read as pandas reads it."""

from __future__ import annotations

import builtins
import io
import os

import numpy as np
import pandas as pd
import pytest
import torch.nn.functional as F

from landscapes.network import build_model
from landscapes.network.upload import CsvError, UploadLimits, load_csv, quoted
from studies.training import train


def table(n: int = 40, label: str = "species", seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    lines = [f"length,width,{label}"]
    for i in range(n):
        cls = ("setosa", "virginica", "versicolor")[i % 3]
        lines.append(f"{rng.normal():.6f},{rng.normal() + i % 3:.6f},{cls}")
    return "\n".join(lines) + "\n"


def problem(data: bytes, **kw) -> CsvError:
    with pytest.raises(CsvError) as info:
        load_csv(data, **kw)
    return info.value


def test_a_good_file_is_read_as_pandas_reads_it():
    text = table(60)
    ds = load_csv(text.encode(), seed=3)
    ref = pd.read_csv(io.StringIO(text))
    assert ds.feature_names == ("length", "width")
    assert ds.class_names == ("setosa", "versicolor", "virginica")
    assert ds.n_classes == 3 and ds.input_shape == (2,)
    assert ds.n_train + ds.n_val == 60 and ds.n_val == 15
    y = np.concatenate([ds.y_train.numpy(), ds.y_val.numpy()])
    names = np.array(ds.class_names)[y]
    assert sorted(names.tolist()) == sorted(ref["species"].tolist())
    # the training split is standardized: mean 0, std 1 per column
    tr = ds.x_train.numpy().astype(np.float64)
    np.testing.assert_allclose(tr.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(tr.std(0), 1, atol=1e-5)


def test_rows_and_labels_survive_the_round_trip():
    """Standardization is an increasing affine map per column: the sorted values of a column
    (training and validation together) against the sorted column of the file (read by pandas)
    lie on a line; undoing it, every sample is a row of the file, with that row's label, and
    no row is lost or repeated."""
    text = table(30)
    ds = load_csv(text.encode(), seed=1)
    ref = pd.read_csv(io.StringIO(text))
    raw = ref[["length", "width"]].to_numpy()
    species = ref["species"].to_numpy()
    z = np.concatenate([ds.x_train.numpy(), ds.x_val.numpy()]).astype(np.float64)
    back = np.empty_like(z)
    for j in range(2):
        slope, offset = np.polyfit(np.sort(z[:, j]), np.sort(raw[:, j]), 1)
        assert slope > 0
        back[:, j] = slope * z[:, j] + offset
    dist = np.abs(back[:, None, :] - raw[None]).max(-1)  # (30, 30)
    nearest = dist.argmin(1)
    assert dist.min(1).max() < 1e-5
    assert sorted(nearest.tolist()) == list(range(30))
    y = np.concatenate([ds.y_train.numpy(), ds.y_val.numpy()])
    assert [ds.class_names[c] for c in y] == species[nearest].tolist()


def test_stratified_split_keeps_class_shares():
    from landscapes.network.upload import stratified_split

    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    tr, va = stratified_split(y, 25, seed=4)
    assert len(va) == 25 and len(tr) == 75
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(100))
    assert np.bincount(y[va]).tolist() == [13, 7, 5]  # 12.5, 7.5, 5: the tie to the first
    assert not np.array_equal(va, stratified_split(y, 25, seed=5)[1])
    tr, va = stratified_split(np.array([0, 0, 1, 1, 1, 1, 1, 1]), 2, seed=0)
    assert np.bincount(np.array([0, 0, 1, 1, 1, 1, 1, 1])[va]).tolist() == [1, 1]


def test_label_column_by_name_semicolons_bom_and_numeric_label_order():
    lines = ["\ufeffgrade;a;b"] + [
        f"{c};{i * 0.5};{-i}" for i, c in enumerate([9, 10, 2, 9, 10, 2, 9, 10, 2, 9, 10, 2])
    ]
    ds = load_csv("\n".join(lines).encode("utf-8"), label_column="grade")
    assert ds.feature_names == ("a", "b")
    assert ds.class_names == ("2", "9", "10")  # numeric order, not text order


def test_training_accepts_an_uploaded_data_set():
    ds = load_csv(table(60).encode())
    model = build_model("mlp", ds, widths=(8,))
    res = train(model, F.cross_entropy, ds, [("adam", {"lr": 0.05})], steps=30)
    assert res.train_loss[0, -1] < res.train_loss[0, 0]


def test_nothing_is_written_to_disk(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"file opened: {args!r}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    ds = load_csv(table(30).encode())
    assert ds.n_train > 0


def small(**kw) -> UploadLimits:
    return UploadLimits(**kw)


@pytest.mark.parametrize(
    "data, kwargs, kind, words",
    [
        (
            table(200).encode(),
            {"limits": small(max_bytes=1000)},
            "too_large",
            ["over the limit of 1,000 bytes"],
        ),
        (b"  \n\n", {}, "empty", ["empty"]),
        (b"a,b\n1,\x00\n", {}, "binary", ["NUL byte at offset 6"]),
        (b"a,b\n1,\xff\xfe2\n", {}, "not_utf8", ["not UTF-8", "0xff", "offset 6"]),
        ("a,b\n1,2\n".encode("utf-16"), {}, "not_utf8", ["UTF-16"]),
        (b"a,,c\n1,2,3\n", {}, "bad_header", ["column 2 has no name"]),
        (b"a,b,a\n1,2,3\n", {}, "duplicate_column", ["'a' twice"]),
        (
            (",".join(f"c{i}" for i in range(70)) + "\n").encode(),
            {},
            "too_many_columns",
            ["70 columns", "limit of 65"],
        ),
        (b"only\n1\n2\n", {}, "too_few_columns", ["at least one numeric feature column"]),
        (
            table().encode(),
            {"label_column": "class"},
            "label_not_found",
            ["'class' not found", "'length', 'width', 'species'"],
        ),
        (
            "\n".join(r + ",7" * (i == 1) for i, r in enumerate(table().splitlines())).encode(),
            {},
            "ragged_row",
            ["line 2 has 4 fields but the header has 3"],
        ),
        (
            table(50).encode(),
            {"limits": small(max_rows=20)},
            "too_many_rows",
            ["more than 20 data rows"],
        ),
        (table(4).encode(), {}, "too_few_rows", ["4 data rows", "at least 10"]),
    ],
)
def test_each_problem_has_its_message(data, kwargs, kind, words):
    err = problem(data, **kwargs)
    assert err.problem == kind
    for w in words:
        assert w in str(err), (w, str(err))


def test_missing_values_say_which_column_how_many_and_where():
    text = table(20).splitlines()
    text[3] = ",1.0,setosa"
    text[7] = "NA,2.0,virginica"
    err = problem("\n".join(text).encode())
    assert err.problem == "missing_values"
    assert "column 'length' has 2 missing values (first at line 4: '')" in str(err)
    text = table(20).splitlines()
    text[5] = "1.0,2.0,"
    err = problem("\n".join(text).encode())
    assert err.problem == "missing_values" and "label column 'species'" in str(err)
    assert "line 6" in str(err)


def test_formula_injection_is_reported_as_a_quoted_non_numeric_value():
    text = table(20).splitlines()
    text[2] = "\"=cmd|' /C calc'!A0\",1.0,setosa"
    err = problem("\n".join(text).encode())
    assert err.problem == "non_numeric"
    assert "column 'length' is not numeric: line 3 holds \"=cmd|' /C calc'!A0\"" in str(err)


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e400"])
def test_non_finite_values(value):
    text = table(20).splitlines()
    text[4] = f"{value},1.0,setosa"
    err = problem("\n".join(text).encode())
    assert err.problem == "non_finite" and repr(value) in str(err)


@pytest.mark.parametrize("value", ["1_000", "0x1f", "1,5", "١٢"])
def test_only_plain_decimal_numbers_are_numbers(value):
    """float() accepts '1_000' and Arabic-Indic digits; the loader does not guess."""
    text = table(20).splitlines()
    text[4] = f'"{value}",1.0,setosa'
    err = problem("\n".join(text).encode())
    assert err.problem == "non_numeric"


def test_too_many_single_and_tiny_classes():
    rows = ["a,b,y"] + [f"{i},{i * 2},{i}" for i in range(30)]
    err = problem("\n".join(rows).encode())
    assert err.problem == "too_many_classes"
    assert "30 distinct values, over the limit of 20 classes" in str(err)
    rows = ["a,b,y"] + [f"{i},{i * 2},cat" for i in range(30)]
    err = problem("\n".join(rows).encode())
    assert err.problem == "single_class" and "single class, 'cat'" in str(err)
    rows = ["a,b,y"] + [f"{i},{i * 2},{'cat' if i else 'dog'}" for i in range(30)]
    err = problem("\n".join(rows).encode())
    assert err.problem == "tiny_class" and "class 'dog'" in str(err)


def test_a_huge_line_is_refused_before_parsing_and_quoted_short():
    huge = "x" * 1_000_000
    err = problem(f"a,b,y\n1,{huge},c\n".encode())
    assert err.problem == "line_too_long"
    assert "line 2 is 1,000,004 characters long" in str(err)
    assert len(str(err)) < 200
    limits = UploadLimits(max_line_chars=200_000)
    rows = ["a,b,y"] + [f"{i},{i},{i % 2}" for i in range(20)]
    rows[3] = f"1,{huge[:100_000]},0"
    err = problem("\n".join(rows).encode(), limits=limits)
    assert err.problem == "non_numeric"
    assert "'xxxxxxxxxx" in str(err) and "(100,000 characters)" in str(err)
    assert len(str(err)) < 300


def test_control_and_bidi_characters_are_escaped_in_messages():
    text = table(20).splitlines()
    text[2] = '"a\x1b[31mred\u202egnp.exe",1.0,setosa'
    err = str(problem("\n".join(text).encode()))
    assert "\x1b" not in err and "\u202e" not in err
    assert "\\x1b" in err and "\\u202e" in err


def test_quoted_is_repr_cut_to_forty_characters():
    assert quoted("abc") == "'abc'"
    long = "y" * 100
    assert quoted(long) == repr("y" * 40) + "... (100 characters)"
    assert quoted("a\nb") == "'a\\nb'"


def test_data_must_be_bytes():
    with pytest.raises(TypeError, match="bytes"):
        load_csv("a,b\n1,2\n")  # type: ignore[arg-type]
