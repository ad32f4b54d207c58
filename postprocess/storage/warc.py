"""Raw archive: WARC files written during a crawl and read back by `nianbao build`."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from isal import isal_zlib
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROLLOVER_BYTES = 512 * 1024 * 1024
# The most a reader inflates of one payload: a record kept Content-Encoded (a gzip bomb the
# crawler refused to inflate) is read in bounded steps and refused past this.
MAX_PAYLOAD_BYTES = 128 * 1024 * 1024
_READ_STEP = 1024 * 1024
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

    def capture_fields(self) -> dict:
        """The captures columns that point at this record."""
        return {
            "sha256": self.sha256,
            "size": self.size,
            "warc_file": self.warc_file,
            "warc_record_id": self.record_id,
            "warc_offset": self.offset,
        }


class WarcWriteError(OSError):
    """A record could not be written; the file was cut back to the end of the last good record."""


class WarcStore:
    """Append-only writer: one gzip WARC at a time, rolled over by size.

    Each record (response + request) is serialised in memory and appended with one write loop; a
    failed write (disk full ...) cuts the file back so it never ends in a torn record. A record is
    fsync'd as it is written, or, written with `sync=False`, by the next `sync()`: the crawler
    syncs a batch of records once, before it commits the rows that point at them.
    """

    def __init__(self, data_dir: str | Path, prefix: str):
        self.root = Path(data_dir)
        (self.root / "warc").mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self._serial = 0
        self._fd: int | None = None
        self._end = 0
        self._name = ""
        self._unsynced = False
        self._gzip = _GzipMembers()

    def _open(self) -> None:
        self._serial += 1
        self._gzip = _GzipMembers()
        self._name = f"warc/{self.prefix}-{self._serial:05d}.warc.gz"
        self._fd = os.open(self.root / self._name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._end = os.fstat(self._fd).st_size
        if self._end == 0:
            buffer = BytesIO()
            writer = WARCWriter(buffer, gzip=True)
            info = {
                "software": "nianbao (https://github.com/nianbao/nianbao)",
                "format": "WARC File Format 1.1",
            }
            writer.write_record(writer.create_warcinfo_record(self._name, info))
            self._append(buffer.getvalue())

    def _append(self, data: bytes, sync: bool = True) -> int:
        """Append data at the end of the file (durably unless sync is False); returns its offset."""
        assert self._fd is not None
        offset = self._end
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                if written == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
            if sync:
                os.fsync(self._fd)
        except OSError as exc:
            self._cut(offset)
            raise WarcWriteError(
                exc.errno,
                f"cannot write WARC record to {self.root / self._name}: "
                f"{exc.strerror or exc} (file cut back to {offset} bytes)",
            ) from exc
        self._end = offset + len(data)
        self._unsynced = self._unsynced or not sync
        return offset

    def sync(self) -> None:
        """fsync the records written with sync=False (raises WarcWriteError when the disk fails:
        their bytes may be lost, so the caller cuts them off with `cut_back`)."""
        if not self._unsynced or self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise WarcWriteError(
                exc.errno,
                f"cannot sync WARC records to {self.root / self._name}: {exc.strerror or exc}",
            ) from exc
        self._unsynced = False

    @property
    def rolls_over(self) -> bool:
        """Whether the next record starts a new file."""
        return self._fd is None or self._end > ROLLOVER_BYTES

    def _cut(self, offset: int) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, offset)
            os.fsync(self._fd)
            self._unsynced = False
        except OSError:
            # Cannot even truncate: close the file so nothing more lands after a torn record;
            # `nianbao verify` reports the damaged tail.
            os.close(self._fd)
            self._fd = None

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
        sync: bool = True,
    ) -> Stored:
        """Write a response record (and its request record) and return where it lies; with
        sync=False it is durable only after the next `sync()`.

        Raises WarcWriteError (an OSError) when the disk refuses; nothing partial is left."""
        if self.rolls_over:
            self.close()
            self._open()
        kept = [(k, v) for k, v in headers if k.lower() not in _DROP_HEADERS]
        http = StatusAndHeaders(f"{status} {reason or 'OK'}", kept, protocol="HTTP/1.1")
        record_id = _warc_id()
        date = _warc_date()
        data = _record(self._gzip, "response", record_id, url, date, http, body, ())
        if request_headers is not None:
            req_http = StatusAndHeaders(
                f"{method} {_path_of(url)} HTTP/1.1", request_headers, is_http_request=True
            )
            data += _record(
                self._gzip, "request", _warc_id(), url, date, req_http, request_body, (record_id,)
            )
        offset = self._append(data, sync)
        return Stored(self._name, record_id, offset, hashlib.sha256(body).hexdigest(), len(body))

    def discard(self, stored: Stored) -> None:
        """Remove the record just written (its captures row could not be inserted)."""
        self.cut_back(stored.warc_file, stored.offset)

    def cut_back(self, warc_file: str, offset: int) -> None:
        """Cut the open file back to `offset`: the records from there on have no row (a batch
        whose rows could not be committed). ValueError for another file or a past offset."""
        if self._fd is None or warc_file != self._name or offset > self._end:
            raise ValueError(f"{warc_file}@{offset} is not in the open file's last records")
        self._cut(offset)
        if self._fd is None:
            raise OSError(f"cannot cut {self.root / warc_file} back to {offset} bytes")
        self._end = offset

    def close(self) -> None:
        """Close the file, syncing records written with sync=False."""
        if self._fd is not None:
            try:
                self.sync()
            finally:
                os.close(self._fd)
                self._fd = None


def _warc_id() -> str:
    """A random (version 4) UUID URN, as uuid.uuid4() prints it, without building a UUID object
    (two per response)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"<urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}>"


def _warc_date() -> str:
    """WARC/1.1 date with microseconds, as warcio writes it."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z"


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_PAIRS = [a + b for a in _B32 for b in _B32]  # 10 bits -> two base32 letters


def _sha1(*parts: bytes) -> str:
    """warcio's digest label: sha1 in base32 (160 bits, 32 letters, no padding; base64's
    b32encode is pure Python and costs more than the hash)."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    n = int.from_bytes(digest.digest(), "big")
    return "sha1:" + "".join([_B32_PAIRS[(n >> shift) & 1023] for shift in range(150, -1, -10)])


# ISA-L deflates a record in a fraction of zlib's CPU (gzip was the crawler's largest cost over
# a bare spider, benchmarks/crawl_overhead.py), and any gzip reader inflates it. Level 1 takes
# 30% less CPU than its highest, 3, for 1.6% more bytes on tests/fixtures HTML pages (0.208 of
# their size against 0.205); documents (PDF, DOCX: already compressed) come out the same.
_GZIP_LEVEL = 1
# The gzip header zlib writes (mtime 0, this OS's code).
_GZIP_HEADER = zlib.compress(b"", 6, zlib.MAX_WBITS + 16)[:10]
# An empty final deflate block (fixed Huffman, end-of-block code): ends a member's stream.
_FINAL_BLOCK = b"\x03\x00"


def _deflater():
    return isal_zlib.compressobj(_GZIP_LEVEL, isal_zlib.DEFLATED, -isal_zlib.MAX_WBITS)


class _GzipMembers:
    """One gzip member per record, all from one raw deflate stream per WARC file.

    A compressobj cannot be reset and setting one up costs about as much as deflating a small
    record, so the stream is kept: Z_FULL_FLUSH after each record byte-aligns it and forgets the
    history (no back-reference reaches into an earlier record), and an empty final block closes
    the member. Each member inflates on its own from its offset, as WARC readers need for random
    access."""

    def __init__(self) -> None:
        self._deflate = _deflater()

    def member(self, parts: tuple[bytes, ...]) -> bytes:
        out = [_GZIP_HEADER]
        crc = size = 0
        try:
            for part in parts:
                out.append(self._deflate.compress(part))
                crc = isal_zlib.crc32(part, crc)
                size += len(part)
            out.append(self._deflate.flush(isal_zlib.Z_FULL_FLUSH))
        except BaseException:
            # a stream left mid-record would corrupt the next member: start a fresh one
            self._deflate = _deflater()
            raise
        out.append(_FINAL_BLOCK)
        out.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
        return b"".join(out)


def _record(
    gzip: _GzipMembers,
    rec_type: str,
    record_id: str,
    url: str,
    date: str,
    http: StatusAndHeaders,
    payload: bytes,
    concurrent_to: tuple[str, ...],
) -> bytes:
    """One WARC/1.1 record with an HTTP block, as its own gzip member: what warcio's WARCWriter
    writes (same headers and digests), without its per-record stream machinery."""
    http.compute_headers_buffer()  # warcio's HTTP header bytes (non-ASCII values %-encoded)
    block = http.headers_buff or b""
    lines = [
        "WARC/1.1",
        f"WARC-Type: {rec_type}",
        f"WARC-Record-ID: {record_id}",
        f"WARC-Target-URI: {url}",
        f"WARC-Date: {date}",
        *(f"WARC-Concurrent-To: {other}" for other in concurrent_to),
        f"WARC-Payload-Digest: {_sha1(payload)}",
        f"WARC-Block-Digest: {_sha1(block, payload)}",
        f"Content-Type: application/http; msgtype={rec_type}",
        f"Content-Length: {len(block) + len(payload)}",
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return gzip.member((head, block, payload, b"\r\n\r\n"))


def _path_of(url: str) -> str:
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
                body=_bounded_read(record.content_stream(), f"{warc_file}@{offset}"),
            )
    raise ValueError(f"{warc_file}@{offset}: no WARC record there")


def _bounded_read(stream, where: str, limit: int | None = None) -> bytes:
    """The payload, inflated step by step and refused past `limit` (no bomb is inflated whole)."""
    limit = MAX_PAYLOAD_BYTES if limit is None else limit
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(_READ_STEP)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            raise ValueError(f"{where}: payload larger than {limit} bytes once decoded")
        parts.append(chunk)


@dataclass
class ScannedRecord:
    warc_file: str  # relative to the data directory
    offset: int
    rec_type: str
    record_id: str | None
    url: str | None
    sha256: str | None = None  # of the HTTP payload as stored (response records)


@dataclass
class ScanProblem:
    warc_file: str
    offset: int
    problem: str


def cut_unrecorded_tail(path: str | Path, recorded: set[str]) -> int:
    """Cut a WARC file of a killed crawl back to the end of its last recorded capture.

    A crawl killed between writing a record and inserting its captures row leaves records no
    row points at (the URL is fetched again when the crawl resumes), or a torn last record.
    Returns the bytes cut."""
    path = Path(path)
    cut_at = None  # where the first unrecorded response record after the last recorded one starts
    end = 0  # just after the last complete record
    size = path.stat().st_size
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        try:
            for record in iterator:
                iterator.read_to_end(record)
                offset = iterator.get_record_offset()
                end = offset + iterator.get_record_length()
                if record.rec_type != "response":
                    continue  # warcinfo, and the request record written with each response
                if record.rec_headers.get_header("WARC-Record-ID") in recorded:
                    cut_at = None
                elif cut_at is None:
                    cut_at = offset
        except (ArchiveLoadFailed, OSError, ValueError, EOFError, zlib.error):
            pass  # a torn tail: cut after the last complete record
    if cut_at is None:
        cut_at = end if end < size else None
    if cut_at is None:
        return 0
    with open(path, "r+b") as fh:
        fh.truncate(cut_at)
        os.fsync(fh.fileno())
    return size - cut_at


def scan_warc(data_dir: str | Path) -> Iterator[ScannedRecord | ScanProblem]:
    """Every record of every WARC file under data_dir/warc, then a ScanProblem where a file stops
    being readable (torn tail, bad gzip member)."""
    root = Path(data_dir)
    for path in sorted((root / "warc").glob("*.warc.gz")):
        name = path.relative_to(root).as_posix()
        offset = 0
        with open(path, "rb") as fh:
            iterator = ArchiveIterator(fh)
            end = 0
            try:
                for record in iterator:
                    digest = None
                    if record.rec_type == "response":
                        # the payload as stored (still Content-Encoded when it was kept so)
                        hasher = hashlib.sha256()
                        while chunk := record.raw_stream.read(_READ_STEP):
                            hasher.update(chunk)
                        digest = hasher.hexdigest()
                    iterator.read_to_end(record)
                    offset = iterator.get_record_offset()  # reads to the end when not yet
                    yield ScannedRecord(
                        name,
                        offset,
                        record.rec_type,
                        record.rec_headers.get_header("WARC-Record-ID"),
                        record.rec_headers.get_header("WARC-Target-URI"),
                        digest,
                    )
                    end = offset = offset + iterator.get_record_length()
            except (ArchiveLoadFailed, OSError, ValueError, EOFError, zlib.error) as exc:
                yield ScanProblem(name, offset, f"unreadable from byte {offset}: {str(exc)[:120]}")
                continue
        size = path.stat().st_size
        if end < size:
            yield ScanProblem(
                name, end, f"{size - end} bytes after the last complete record (torn write)"
            )
