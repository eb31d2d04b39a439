"""The replicas' shared folder (``app.replica_share``): a value computed by one process is read
by the others, identical requests in two processes compute once, and what cannot be shared is
computed where it is asked for."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from app import replica_share, shared_work
from app.replica_share import ReplicaShare, key_digest

ROOT = Path(__file__).resolve().parent.parent


def counted(result, log: list):
    def compute():
        log.append(1)
        return result

    return compute


def test_a_value_written_by_one_process_is_read_by_another(tmp_path):
    calls: list = []
    first = ReplicaShare(tmp_path, 2**20)
    value = {"bytes": b"\x00" * 100, "array": np.arange(5.0)}
    assert first.get("views", ("chart", 1), counted(value, calls)) is value
    second = ReplicaShare(tmp_path, 2**20)  # another replica opening the same folder
    got = second.get("views", ("chart", 1), counted("not this", calls))
    assert calls == [1] and second.read == 1 and first.written == 1
    assert got["bytes"] == value["bytes"] and np.array_equal(got["array"], value["array"])
    # another store or another key is another value
    assert second.get("runs", ("chart", 1), counted("runs", calls)) == "runs"
    assert second.get("views", ("chart", 2), counted("two", calls)) == "two"
    assert len(calls) == 3


def test_identical_requests_in_two_processes_compute_once(tmp_path):
    marker = tmp_path / "computed"
    script = textwrap.dedent(
        f"""
        import time
        from app.replica_share import ReplicaShare

        def compute():
            with open({str(marker)!r}, "a") as f:
                f.write("x")
            time.sleep(1.5)  # the other process asks meanwhile
            return 42

        print(ReplicaShare({str(tmp_path / "shared")!r}, 2**20).get("views", ("lesson", 7), compute))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == ["42", "42"]
    assert marker.read_text() == "x"  # one computation for both processes


def test_what_cannot_be_shared_is_computed_where_it_is_asked(tmp_path):
    share = ReplicaShare(tmp_path, 2**20)
    calls: list = []
    # a key naming an object's address, or an array numpy elides: no stable name elsewhere
    obj_key = ("chart", object())
    assert key_digest("views", obj_key) is None
    assert key_digest("views", (np.arange(5000.0),)) is None
    share.get("views", obj_key, counted(1, calls))
    share.get("views", obj_key, counted(1, calls))
    # a value that does not pickle stays in its process
    share.get("views", ("lambda",), counted(lambda: None, calls))
    share.get("views", ("lambda",), counted(lambda: None, calls))
    assert len(calls) == 4 and share.written == 0
    assert not list(tmp_path.glob("*.pkl"))


def test_a_failed_computation_writes_nothing_and_the_next_caller_computes(tmp_path):
    share = ReplicaShare(tmp_path, 2**20)

    def fail():
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        share.get("views", ("k",), fail)
    assert share.get("views", ("k",), lambda: "ok") == "ok"
    assert ReplicaShare(tmp_path, 2**20).get("views", ("k",), lambda: "again") == "ok"


def test_a_torn_or_foreign_file_is_computed_again(tmp_path):
    share = ReplicaShare(tmp_path, 2**20)
    stem = key_digest("views", ("k",))
    (tmp_path / f"{stem}.pkl").write_bytes(b"not a pickle")
    assert share.get("views", ("k",), lambda: "fresh") == "fresh"
    assert ReplicaShare(tmp_path, 2**20).get("views", ("k",), lambda: "no") == "fresh"


def test_the_folder_keeps_to_its_byte_bound_dropping_the_oldest(tmp_path):
    share = ReplicaShare(tmp_path, 10_000)
    for i in range(6):
        share.get("views", ("k", i), lambda: b"\x01" * 3000)
        os.utime(tmp_path / f"{key_digest('views', ('k', i))}.pkl", (i, i))  # writing order
    sizes = [p.stat().st_size for p in tmp_path.glob("*.pkl")]
    assert sum(sizes) <= 10_000 and len(sizes) == 3
    kept = {p.stem for p in tmp_path.glob("*.pkl")}
    assert kept == {key_digest("views", ("k", i)) for i in (3, 4, 5)}
    # a value larger than the whole bound is not written
    share.get("views", ("big",), lambda: b"\x01" * 20_000)
    assert key_digest("views", ("big",)) not in {p.stem for p in tmp_path.glob("*.pkl")}


def test_the_folder_is_its_users_only(tmp_path):
    folder = tmp_path / "shared"
    ReplicaShare(folder, 2**20)
    assert folder.stat().st_mode & 0o077 == 0


def test_a_named_store_reads_what_another_replica_computed(tmp_path, monkeypatch):
    monkeypatch.setattr(shared_work, "_REPLICAS", ReplicaShare(tmp_path, 2**20))
    calls: list = []
    here = shared_work.SharedWork(2**20, name="views")
    assert here.get(("view", 1), counted("bytes", calls)) == "bytes"
    # the other replica: its own memory store, the same folder
    monkeypatch.setattr(shared_work, "_REPLICAS", ReplicaShare(tmp_path, 2**20))
    there = shared_work.SharedWork(2**20, name="views")
    assert there.get(("view", 1), counted("other", calls)) == "bytes"
    assert calls == [1]
    # an unnamed store keeps to its process
    alone = shared_work.SharedWork(2**20)
    assert alone.get(("view", 1), counted("own", calls)) == "own"


def test_a_decorated_engine_call_is_keyed_by_its_arguments(tmp_path, monkeypatch):
    monkeypatch.setattr(shared_work, "_REPLICAS", ReplicaShare(tmp_path, 2**20))
    calls: list = []

    @shared_work.replica_shared("test.add")
    def add(a, b=0):
        calls.append((a, b))
        return a + b

    assert add(1, b=2) == 3 and add(1, b=2) == 3 and add(2) == 2
    assert calls == [(1, 2), (2, 0)]
    assert add.__name__ == "add"


def test_the_environment_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(replica_share.DIR_ENV, raising=False)
    assert replica_share.from_environment() is None
    monkeypatch.setenv(replica_share.DIR_ENV, str(tmp_path / "f"))
    monkeypatch.setenv(replica_share.DISK_MB_ENV, "2")
    share = replica_share.from_environment()
    assert share is not None and share.folder == tmp_path / "f" and share.max_bytes == 2 * 2**20


def test_a_private_value_stays_in_its_process(tmp_path, monkeypatch):
    """A view of uploaded data is never written for the other replicas."""
    monkeypatch.setattr(shared_work, "_REPLICAS", ReplicaShare(tmp_path, 2**20))
    store = shared_work.SharedWork(2**20, name="views")
    assert store.get(("upload view",), lambda: b"data", private=True) == b"data"
    assert store.get(("upload view",), lambda: b"other", private=True) == b"data"  # in memory
    assert not list(tmp_path.glob("*.pkl"))
    store.get(("public view",), lambda: b"x")
    assert len(list(tmp_path.glob("*.pkl"))) == 1


def test_other_code_never_reads_a_value(tmp_path, monkeypatch):
    """A folder named by the user outlives an upgrade: the code's version is in every name."""
    ReplicaShare(tmp_path, 2**20).get("views", ("k",), lambda: "old code's")
    monkeypatch.setattr(replica_share, "code_version", lambda: "another version")
    assert ReplicaShare(tmp_path, 2**20).get("views", ("k",), lambda: "new") == "new"
