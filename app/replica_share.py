"""Work shared between the replicas of one server (``optiscape serve --workers N``) through a
folder: what one replica computed for a view, another reads instead of computing it again, so a
lesson is computed once for the whole class however the proxy spreads the students.

``ReplicaShare`` is the second level under each process's ``SharedWork`` store. A value is one
pickle file named by a digest of its store's name and its key's ``repr`` (keys are frozen
dataclasses, tuples, strings and numbers: their ``repr`` is the same in every process and tells
two keys apart) and of the code's own source, so a folder that outlives an upgrade is never read
by other code. Identical requests in two replicas wait for one computation: the one that takes
the key's lock file (``fcntl.flock``, released by the kernel if its process dies) computes and
writes, the other then reads. Files are written to a temporary name and renamed, so a reader
never sees half a value. The folder is bounded by bytes, the least recently written dropped
first.

    OPTISCAPE_SHARED_DIR      the folder (``serve --workers N`` makes one per server, readable by
                              its own user only; unset: nothing is shared between processes)
    OPTISCAPE_SHARED_DISK_MB  its byte bound in MiB (default 1024)

The folder must be writable by the server's user only: its files are unpickled.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DIR_ENV = "OPTISCAPE_SHARED_DIR"
DISK_MB_ENV = "OPTISCAPE_SHARED_DISK_MB"
DEFAULT_DISK_MB = 1024


@functools.cache
def code_version() -> str:
    """A digest of the source of the app and the engine: a folder named by a user outlives an
    upgrade, and a value computed by other code is then never read."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in ("app", "landscapes", "optimizers", "studies"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def key_digest(store: str, key: Hashable) -> str | None:
    """The file name stem of ``key`` in ``store``, or None where ``repr`` cannot stand for the
    key in another process (an object's address, numpy's elided arrays). The code's version is
    part of it (``code_version``)."""
    text = f"{code_version()}\0{store}\0{key!r}"
    if " at 0x" in text or "..." in text:
        return None
    return hashlib.sha256(text.encode()).hexdigest()


class ReplicaShare:
    """A folder of values shared by the processes that open it (see the module's docstring)."""

    def __init__(self, folder: Path | str, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes)
        self.read = 0  # values read from the folder, for tests and benchmarks
        self.written = 0

    def get(self, store: str, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key`` in ``store``: read from the folder, or computed here by
        ``compute()`` while this process holds the key's lock (another process asking for it
        meanwhile waits, then reads it) and written for the others."""
        stem = key_digest(store, key)
        if stem is None:
            return compute()
        path = self.folder / f"{stem}.pkl"
        found, value = self._load(path)
        if found:
            return value
        with open(self.folder / f"{stem}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed, or when the process dies
            found, value = self._load(path)
            if found:
                return value
            value = compute()
            self._write(path, value)
        return value

    def _load(self, path: Path) -> tuple[bool, Any]:
        try:
            with open(path, "rb") as f:
                value = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return False, None  # absent, or written by another version of the code
        self.read += 1
        return True, value

    def _write(self, path: Path, value: Any) -> None:
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return  # this value stays in its own process
        if len(data) > self.max_bytes:
            return
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:  # a full disk: the value stays in this process
            Path(tmp).unlink(missing_ok=True)
            return
        self.written += 1
        self._trim()

    def _trim(self) -> None:
        """Drop the least recently written values until the folder holds ``max_bytes``."""
        files = []
        for p in self.folder.glob("*.pkl"):
            try:
                st = p.stat()
            except OSError:
                continue
            files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files):
            if total <= self.max_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size


def from_environment() -> ReplicaShare | None:
    """The server's folder share (``OPTISCAPE_SHARED_DIR``), or None when it has none."""
    folder = os.environ.get(DIR_ENV, "").strip()
    if not folder:
        return None
    try:
        mb = float(os.environ.get(DISK_MB_ENV, DEFAULT_DISK_MB))
    except ValueError:
        mb = DEFAULT_DISK_MB
    return ReplicaShare(folder, int(max(mb, 1.0) * 2**20))
