"""WarcStore writes its records itself (not through warcio's writer): they must read back as
warcio writes them, with valid digests, one gzip member per record, unsynced or not."""

from __future__ import annotations

import zlib
from io import BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from postprocess.storage.warc import WarcStore, read_record

URL = "http://www.example.gov.cn/gknb/t20240101_1.html?a=1"
HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Transfer-Encoding", "chunked"),  # dropped: Scrapy already removed the framing
    # a header Scrapy decoded as latin-1 from bytes that were not ASCII (warcio %-encodes it)
    ("Content-Disposition", 'attachment; filename="年报.pdf"'.encode().decode("latin-1")),
]
BODY = "<html><body><p>2023年政府信息公开工作年度报告</p></body></html>".encode()
REQUEST = [("User-Agent", "nianbao"), ("Accept", "*/*")]


def _warcio_record(rec_type: str, http: StatusAndHeaders, payload: bytes, **warc) -> dict:
    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    record = writer.create_warc_record(
        URL, rec_type, payload=BytesIO(payload), http_headers=http, warc_headers_dict=warc
    )
    writer.write_record(record)
    buffer.seek(0)
    return _read(buffer)[0]


def _read(fh) -> list[dict]:
    found = []
    iterator = ArchiveIterator(fh, check_digests="raise")
    for record in iterator:
        found.append(
            {
                "type": record.rec_type,
                "warc": {
                    k: v
                    for k, v in record.rec_headers.headers
                    if k not in ("WARC-Record-ID", "WARC-Date", "WARC-Concurrent-To")
                },
                "http": record.http_headers.to_str() if record.http_headers else None,
                "payload": record.content_stream().read(),
                "id": record.rec_headers.get_header("WARC-Record-ID"),
                "concurrent": record.rec_headers.get_header("WARC-Concurrent-To"),
            }
        )
    return found


def test_records_match_warcio_and_have_valid_digests(tmp_path: Path) -> None:
    store = WarcStore(tmp_path, "t")
    first = store.write_response(URL, 200, "OK", HEADERS, BODY, request_headers=REQUEST)
    second = store.write_response(
        URL + "2", 404, "Not Found", [], b"", request_headers=REQUEST, sync=False
    )
    store.close()  # syncs the second
    with open(tmp_path / first.warc_file, "rb") as fh:
        records = _read(fh)
    types = [r["type"] for r in records]
    assert types == ["warcinfo", "response", "request", "response", "request"]
    response, request = records[1], records[2]
    assert response["id"] == first.record_id and request["concurrent"] == first.record_id
    kept = [h for h in HEADERS if h[0] != "Transfer-Encoding"]
    expected = _warcio_record(
        "response", StatusAndHeaders("200 OK", kept, protocol="HTTP/1.1"), BODY
    )
    assert {k: response[k] for k in ("type", "warc", "http", "payload")} == {
        k: expected[k] for k in ("type", "warc", "http", "payload")
    }
    expected_request = _warcio_record(
        "request",
        StatusAndHeaders("GET /gknb/t20240101_1.html?a=1 HTTP/1.1", REQUEST, is_http_request=True),
        b"",
    )
    assert {k: request[k] for k in ("type", "warc", "http", "payload")} == {
        k: expected_request[k] for k in ("type", "warc", "http", "payload")
    }
    assert "filename*=UTF-8''" in response["http"]  # warcio's %-encoding of a non-ASCII value
    assert read_record(tmp_path, first.warc_file, first.offset).body == BODY
    gone = read_record(tmp_path, second.warc_file, second.offset)
    assert (gone.status, gone.body) == (404, b"")


def test_every_record_is_a_gzip_member_that_inflates_on_its_own(tmp_path: Path) -> None:
    # The records share one deflate stream per file: the same body again would be a
    # back-reference into the previous record unless the stream forgets it at each record.
    store = WarcStore(tmp_path, "t")
    stored = [
        store.write_response(URL + str(i), 200, "OK", HEADERS, BODY * 50, request_headers=REQUEST)
        for i in range(3)
    ]
    store.close()
    data = (tmp_path / stored[0].warc_file).read_bytes()
    ends = [s.offset for s in stored[1:]] + [len(data)]
    for record, end in zip(stored, ends, strict=True):
        members = []
        rest = data[record.offset : end]
        while rest:  # a response member, then its request member
            inflater = zlib.decompressobj(zlib.MAX_WBITS + 16)
            members.append(inflater.decompress(rest))
            assert inflater.eof
            rest = inflater.unused_data
        assert len(members) == 2
        assert members[0].startswith(b"WARC/1.1\r\nWARC-Type: response\r\n")
        assert members[0].endswith(BODY * 50 + b"\r\n\r\n")
        assert members[1].startswith(b"WARC/1.1\r\nWARC-Type: request\r\n")
        assert read_record(tmp_path, record.warc_file, record.offset).body == BODY * 50
