"""Serving an archive.db that `nianbao build` replaces underneath (build, then os.replace).

Datasette's immutable mode trusts the file never to change: a build or crawl writing into it
gave readers "database disk image is malformed". So the archive is opened read-only but not
immutable (`mode=ro`: SQLite's locks and write-ahead log keep every read consistent while a
crawl appends), and every query first compares the path's inode with the one its connection
was opened on. After a build has swapped a new file in, each worker thread closes its old
connection and opens the new file before its next query: a request that began on the old file
finishes on it (the renamed-away file stays readable while open), later ones see the new one.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from datasette.database import Database


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
            return fn(self._connection(generation))
        return await asyncio.get_running_loop().run_in_executor(
            self.ds.executor, lambda: fn(self._connection(generation))
        )
