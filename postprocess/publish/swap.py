"""Serving an archive.db that `nianbao build` replaces underneath (build, then os.replace).

Datasette's immutable mode trusts the file never to change: a build or crawl writing into it
gave readers "database disk image is malformed". So the archive is opened read-only but not
immutable (`mode=ro`: SQLite's locks and write-ahead log keep every read consistent while a
crawl appends), and every query first compares the path's inode with the one its connection
was opened on. After a build has swapped a new file in, each worker thread closes its old
connection and opens the new file before its next query: a request that began on the old file
finishes on it (the renamed-away file stays readable while open), later ones see the new one.

A connection's first query loads the schema, and FTS5 connects reports_fts by reading its config
table. When a crawl turns write-ahead logging on in a file just swapped in, that read can meet
the crawl's lock and fail at once ("vtable constructor failed"): SQLite does not wait for a lock
there. Such a query is run again after a short pause, a few times, before its error is shown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from datasette.database import Database

log = logging.getLogger(__name__)

# Errors a lock held for a moment by a writer gives without SQLite's busy wait (see above).
TRANSIENT_ERRORS = ("vtable constructor failed",)
RETRY_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.4)  # seconds: under a second in all


def file_id(path: str | Path) -> tuple[int, int] | None:
    """(device, inode) of path; None while it is missing (between unlink and rename)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class SwappableDatabase(Database):
    """A read-only Datasette database that follows its path to the newest file."""

    def __init__(self, ds: Any, path: str | Path) -> None:
        super().__init__(ds, path=str(path), is_mutable=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self.generation = file_id(path)

    def _current(self) -> tuple[int, int] | None:
        now = file_id(self.path)
        if now is not None and now != self.generation:
            self.generation = now
        return self.generation

    def _connection(self, generation: tuple[int, int] | None) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.generation == generation:
            return conn
        if conn is not None:
            # this thread's previous query is over: nothing else uses its connection
            with self._lock:
                if conn in self._all_file_connections:
                    self._all_file_connections.remove(conn)
            conn.close()
        with self._lock:
            conn = self.connect()
        self.ds._prepare_connection(conn, self.name)
        self._local.conn, self._local.generation = conn, generation
        return conn

    async def execute_write_fn(self, fn: Any, block: bool = True) -> Any:
        raise PermissionError(f"{self.path} is served read-only")

    async def execute_fn(self, fn: Any) -> Any:
        generation = self._current()
        if self.ds.executor is None:
            return self._run(fn, generation)
        return await asyncio.get_running_loop().run_in_executor(
            self.ds.executor, lambda: self._run(fn, generation)
        )

    def _run(self, fn: Any, generation: tuple[int, int] | None) -> Any:
        for pause in RETRY_PAUSES:
            try:
                return fn(self._connection(generation))
            except sqlite3.OperationalError as exc:
                if not is_transient(exc):
                    raise
                log.info("%s: %s; trying again in %.2f s", self.path, exc, pause)
                time.sleep(pause)
        return fn(self._connection(generation))  # the last try: its error is the answer


def is_transient(exc: sqlite3.Error) -> bool:
    """True for an error a writer's short-held lock gives without a busy wait."""
    return any(text in str(exc) for text in TRANSIENT_ERRORS)
