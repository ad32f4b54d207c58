"""Raw archive: WARC files written during a crawl and read back by `nianbao build`."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from io import BufferedWriter, BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROLLOVER_BYTES = 512 * 1024 * 1024
# Scrapy has already removed the chunked framing from the body it hands us.
_DROP_HEADERS = {"transfer-encoding"}


def safe_worker_name(name: str | None) -> str:
    """A worker name fit for a file name ('' for none)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name or "").strip("._")[:64]


@dataclass(frozen=True)
class Stored:
    warc_file: str  # path relative to the data directory
    record_id: str
    offset: int
    sha256: str
    size: int


class WarcStore:
    """Append-only writer: one gzip WARC at a time, rolled over by size, fsync'd per record."""

    def __init__(self, data_dir: str | Path, prefix: str):
        self.root = Path(data_dir)
        (self.root / "warc").mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self._serial = 0
        self._fh: BufferedWriter | None = None
        self._name = ""

    def _open(self) -> None:
        self._serial += 1
        self._name = f"warc/{self.prefix}-{self._serial:05d}.warc.gz"
        self._fh = fh = open(self.root / self._name, "ab")
        self._writer = WARCWriter(fh, gzip=True)
        if fh.tell() == 0:
            info = {
                "software": "nianbao (https://github.com/nianbao/nianbao)",
                "format": "WARC File Format 1.1",
            }
            self._writer.write_record(self._writer.create_warcinfo_record(self._name, info))

    def write_response(
        self,
        url: str,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        body: bytes,
        request_headers: list[tuple[str, str]] | None = None,
        method: str = "GET",
        request_body: bytes = b"",
    ) -> Stored:
        """Write a response record (and its request record) and return where it lies."""
        if self._fh is None or self._fh.tell() > ROLLOVER_BYTES:
            self.close()
            self._open()
        fh = self._fh
        if fh is None:  # _open() sets it; this tells the type checker
            raise RuntimeError("WARC file not open")
        kept = [(k, v) for k, v in headers if k.lower() not in _DROP_HEADERS]
        http = StatusAndHeaders(f"{status} {reason or 'OK'}", kept, protocol="HTTP/1.1")
        offset = fh.tell()
        record = self._writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(body),
            http_headers=http,
            warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>"},
        )
        self._writer.write_record(record)
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        if request_headers is not None:
            req_http = StatusAndHeaders(
                f"{method} {_path_of(url)} HTTP/1.1", request_headers, is_http_request=True
            )
            req = self._writer.create_warc_record(
                url,
                "request",
                payload=BytesIO(request_body),
                http_headers=req_http,
                warc_headers_dict={"WARC-Concurrent-To": record_id},
            )
            self._writer.write_record(req)
        fh.flush()
        os.fsync(fh.fileno())
        return Stored(self._name, record_id, offset, hashlib.sha256(body).hexdigest(), len(body))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass
class Replayed:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes  # content-decoded payload


def read_record(data_dir: str | Path, warc_file: str, offset: int) -> Replayed:
    """Read back the response record at `offset`; the payload comes content-decoded."""
    with open(Path(data_dir) / warc_file, "rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                raise ValueError(
                    f"{warc_file}@{offset}: expected a response record, found {record.rec_type}"
                )
            http = record.http_headers
            headers = {k.lower(): v for k, v in http.headers}
            return Replayed(
                url=record.rec_headers.get_header("WARC-Target-URI"),
                status=int(http.get_statuscode() or 0),
                headers=headers,
                body=record.content_stream().read(),
            )
    raise ValueError(f"{warc_file}@{offset}: no WARC record there")
