"""nianbao build: the list entry stored with a capture gives a date (and title) the page lacks."""

from __future__ import annotations

import sqlite3

from postprocess.build import build_archive
from postprocess.storage import db as archive_db
from postprocess.storage.warc import WarcStore

SOURCE = {
    "id": "fj-pingtan",
    "agency": "平潭综合实验区管理委员会",
    "division_code": "350128",
    "level": "county",
    "cms": "trs",
    "province": "福建省",
    "city": "福州市",
    "start_urls": ["http://www.pingtan.gov.cn/zwgk/zfxxgknb/index.htm"],
    "verified": 0,
    "example_url": None,
    "notes": None,
    "demo": 1,
}
BODY = (
    "<p>本报告中所列数据的统计期限自2022年1月1日起至2022年12月31日止。</p>"
    "<p>一、总体情况</p><p>2022年，实验区全年主动公开政府信息3460条，其中政府采购信息189条。</p>"
    "<p>三、收费及减免情况</p><p>均为免费提供。</p>"
)
# no <meta> date, no labelled date: only the list knows when it was published
NO_DATE = f"<html><body><div class='zw'>{BODY}</div></body></html>"
SIGNED = (
    f"<html><body><div class='zw'>{BODY}<p>平潭综合实验区管委会</p><p>2023年1月30日</p>"
    "</div></body></html>"
)


def _capture(db, store, crawl, url, body, list_title, list_date) -> int:
    stored = store.write_response(url, 200, "OK", [("Content-Type", "text/html")], body.encode())
    return archive_db.record_capture(
        db,
        {
            "crawl_id": crawl,
            "source_id": "fj-pingtan",
            "url": url,
            "method": "GET",
            "fetched_at": "2024-02-01T00:00:00Z",
            "status": 200,
            "content_type": "text/html",
            **stored.capture_fields(),
            "role": "report",
            "blocked": 0,
            "list_title": list_title,
            "list_date": list_date,
        },
    )


def test_build_takes_the_list_entry_when_the_page_says_nothing(tmp_path):
    db_path, data = tmp_path / "archive.db", tmp_path / "data"
    db = archive_db.open_db(db_path)
    archive_db.upsert_sources(db, [SOURCE])
    crawl = archive_db.start_crawl(db, ["fj-pingtan"])
    store = WarcStore(data, "test")
    base = "http://www.pingtan.gov.cn/zwgk/zfxxgknb/202302/"
    title = "平潭综合实验区2022年政府信息公开工作年度报告"
    _capture(db, store, crawl, base + "t20230221_1.htm", NO_DATE, title, "2023-02-21")
    _capture(db, store, crawl, base + "t20230221_2.htm", SIGNED, title, None)
    store.close()
    db.close()
    build_archive(db_path, data, echo=lambda _line: None)
    con = sqlite3.connect(db_path)
    rows = con.execute(
        "SELECT url, title, agency, year, published, published_source, kind FROM reports "
        "ORDER BY id"
    ).fetchall()
    stats = dict(con.execute("SELECT key, value FROM stats WHERE report_id = 1").fetchall())
    con.close()
    assert rows == [
        (
            base + "t20230221_1.htm",
            title,
            "平潭综合实验区",
            2022,
            "2023-02-21",
            "list",
            "annual_report",
        ),
        (
            base + "t20230221_2.htm",
            title,
            "平潭综合实验区",
            2022,
            "2023-01-30",
            "signature",
            "annual_report",
        ),
    ]
    assert stats == {"proactive_total": 3460, "fees_yuan": 0}
