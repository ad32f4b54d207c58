"""The shipped sources file and the errors a bad sources file gets."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.sources import (
    DEFAULT_SOURCES,
    Source,
    SourceError,
    load_sources,
    parse_sources,
    with_port,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sources"

# Spam mirrors, hijacked domains, content farms, wiki copies and reposts seen republishing
# government reports (../shared/corpus/real-urls.tsv). None of them may ever be a source.
MIRROR_HOSTS = (
    "bjmssf.com",
    "ljxbmgzwsy.com",
    "zwinkt.com",
    "moonvisionstudio.com",
    "156152.com",
    "newton.com.tw",
    "jendow.com.tw",
    "zjtcn.com",
    "fsou.net",
    "dyrmt.com",
    "aluminumparts.cn",
    "whentby.com",
    "izibackup.com",
    "hongxingpaper.com",
    "zgwqmt.com",
    "ztkycw.com",
    "xascgb.com",
    "lzxgym.com",
    "scqsfz.net",
    "sdcyfl.com",
)
# Official hosts that are bare IPs (the TSV records 舒兰市's 政府信息公开网 on one).
OFFICIAL_IP_HOSTS = ("122.137.242.24",)

# First two digits of a 行政区划代码 -> province-level division.
PROVINCES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}

TRS_ARTICLE = re.compile(r"^(?P<col>.*/)\d{6}/t\d{8}_\d+(?:_wap)?\.s?html?$")
HANWEB_ARTICLE = re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_(?P<col>\d+)_\d+\.html$")


@pytest.fixture(scope="module")
def shipped() -> list[Source]:
    return load_sources(DEFAULT_SOURCES)


def _hosts(source: Source) -> list[str]:
    urls = [*source.start_urls, *([source.example_url] if source.example_url else [])]
    return [urlsplit(u).hostname or "" for u in urls] + list(source.allowed_domains)


def _on(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


# --- the shipped file ---------------------------------------------------------------------


def test_shipped_file_loads_with_unique_ids(shipped):
    ids = [s.id for s in shipped]
    assert len(ids) == len(set(ids))
    assert len(shipped) >= 35
    assert {s.cms for s in shipped} == {"trs", "hanweb", "generic"}


def test_seed_portals_are_present(shipped):
    codes = {s.division_code: s for s in shipped}
    assert codes["140702"].start_urls == ("http://www.yuci.gov.cn/",)  # 榆次区, seed 000
    assert codes["230111"].agency == "哈尔滨市呼兰区人民政府"  # seed 002
    assert codes["230100"].start_urls == ("http://www.harbin.gov.cn/",)  # named in seed 002
    assert codes["620900"].start_urls == ("http://www.jiuquan.gov.cn/",)  # 酒泉市, seed 004
    assert codes["320800"].agency == "淮安市人民政府"  # corpus PDF
    assert codes["320813"].agency == "淮安市洪泽区人民政府"  # corpus PDFs


def test_no_mirror_host_anywhere(shipped):
    for source in shipped:
        for host in _hosts(source):
            assert not any(_on(host, bad) for bad in MIRROR_HOSTS), (source.id, host)


def test_every_start_url_is_on_an_official_host(shipped):
    for source in shipped:
        for url in source.start_urls:
            host = urlsplit(url).hostname or ""
            assert host.endswith(".gov.cn") or host in OFFICIAL_IP_HOSTS, (source.id, url)
        for domain in source.allowed_domains:
            assert domain.endswith("gov.cn"), (source.id, domain)


def test_nothing_is_verified_before_a_crawl(shipped):
    # the columns were inferred from page URLs; a crawl flips `verified` once it confirms one
    assert [s.id for s in shipped if s.verified] == []
    assert [s.id for s in shipped if s.demo] == []


def test_division_codes_match_province_city_and_level(shipped):
    for source in shipped:
        code = source.division_code
        assert len(code) == 6, source.id
        assert PROVINCES[code[:2]] == source.province, source.id
        if source.level == "province":
            assert code.endswith("0000"), source.id
        elif source.level == "city":
            assert code.endswith("00") and not code.endswith("0000"), source.id
        # a province-level government (or its department) has no city, except the municipalities
        if not code.endswith("0000") or code[:2] in ("11", "12", "31", "50"):
            assert source.city, source.id
        else:
            assert source.city is None, source.id


def test_generic_entries_name_their_cms_or_say_it_is_unknown(shipped):
    for source in shipped:
        assert source.notes, source.id
        if source.cms == "generic" and source.example_url:
            assert "cms family:" in source.notes, source.id


def test_trs_and_hanweb_columns_are_derived_from_their_example(shipped):
    """A start URL is the example page's column, by the CMS's URL scheme."""
    checked = 0
    for source in shipped:
        if not source.example_url:
            continue
        example = urlsplit(source.example_url)
        same_host = [urlsplit(u) for u in source.start_urls if urlsplit(u).netloc == example.netloc]
        if source.cms == "trs" and same_host:
            column = TRS_ARTICLE.match(example.path)
            assert column, source.id
            ext = example.path.rsplit(".", 1)[1]
            assert f"{column['col']}index.{ext}" in [u.path for u in same_host], source.id
            checked += 1
        elif source.cms == "hanweb":
            article = HANWEB_ARTICLE.search(example.path)
            if article:
                assert [u.path for u in same_host] == [f"/col/col{article['col']}/index.html"]
            else:  # Zhejiang's annual-report module: same page without the year
                assert example.path == "/module/xxgk/xxgkAnnualReport.jsp", source.id
                assert [u.path for u in same_host] == [example.path], source.id
                assert "fbtime" not in same_host[0].query, source.id
                assert "area=" in same_host[0].query, source.id
            checked += 1
    assert checked >= 20


def test_example_url_of_a_mirror_copy_is_put_back_on_the_official_host(shipped):
    by_id = {s.id: s for s in shipped}
    guangzhou = by_id["guangzhou"]
    assert guangzhou.example_url == (
        "https://www.gz.gov.cn/zfjgzy/gzsrmzfbgt/zfxxgknb/sbj/content/post_9530991.html"
    )
    assert guangzhou.domains == ("gz.gov.cn",)
    assert by_id["shulan-scjgj"].domains == ("122.137.242.24",)


def test_shipped_sources_rows_and_demo_port(shipped):
    hulan = next(s for s in shipped if s.id == "hulan")
    row = hulan.as_row()
    assert row["division_code"] == "230111" and row["verified"] == 0
    moved = with_port(next(s for s in shipped if s.id == "gaoping-bgs"), 8123)
    assert moved.start_urls == ("http://xxgk.sxgp.gov.cn:8123/gzbm/zfbgs/zfxxgknb/index.shtml",)


# --- bad files ----------------------------------------------------------------------------


def test_good_fixture_loads():
    [source] = load_sources(FIXTURES / "ok.yml")
    assert source == Source(
        id="good",
        agency="哈尔滨市呼兰区人民政府",
        division_code="230111",
        level="county",
        cms="trs",
        start_urls=("http://www.hulan.gov.cn/zfxxgknb/index.html",),
    )


BAD_FILES = {
    "missing_field": "entry #2 ('no-cms'): field 'cms': is required",
    "unknown_field": "entry #2 ('typo'): field 'start_url': unknown field; "
    "did you mean 'start_urls'?",
    "unquoted_division_code": "entry #2 ('bare-code'): field 'division_code': "
    "must be a quoted string (e.g. '230111'), got int 140702",
    "short_division_code": "entry #2 ('short-code'): field 'division_code': "
    "must be 6 or 12 digits, got '1407'",
    "bad_level": "entry #2 ('district'): field 'level': must be one of province, city, "
    "county, township, department, got 'district'",
    "bad_cms": "entry #2 ('wordpress'): field 'cms': must be one of trs, hanweb, generic, "
    "got 'wordpress'",
    "bad_url": "entry #2 ('no-scheme'): field 'start_urls': not an http(s) URL "
    "(must start with http:// or https://): 'www.yuci.gov.cn/zwgk/'",
    "bad_example_url": "entry #2 ('spaced'): field 'example_url': not an http(s) URL "
    "(contains white space): 'http://www.yuci gov.cn/a.html'",
    "duplicate_id": "entry #2 ('good'): field 'id': duplicates entry #1",
    "duplicate_start_url": "entry #2 ('same-column'): field 'start_urls': "
    "'http://www.hulan.gov.cn/zfxxgknb/index.html' is already a start "
    "URL of entry #1 ('good')",
    "entry_not_mapping": "entry #2: must be a mapping of fields, got the text 'just a string'",
    "not_a_list": "the file must hold a non-empty list of portals, got a mapping",
    "empty": "the file must hold a non-empty list of portals, got nothing",
    "invalid_yaml": "not valid YAML: while scanning a quoted scalar (line 8, column 10): "
    "found unexpected end of stream (line 10, column 1)",
    "duplicate_key": "not valid YAML: in the mapping that starts (line 1, column 3): "
    "field 'cms' is given twice (line 8, column 3)",
    "not_utf8": "the sources file is not UTF-8 text (bad byte at offset 182)",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_error_names_entry_and_field(name):
    path = FIXTURES / f"{name}.yml"
    with pytest.raises(SourceError) as caught:
        load_sources(path)
    assert str(caught.value) == f"{path}: {BAD_FILES[name]}"


def test_every_bad_fixture_is_tested():
    on_disk = {p.stem for p in FIXTURES.glob("*.yml")} - {"ok"}
    assert on_disk == set(BAD_FILES)


def test_unreadable_path(tmp_path):
    missing = tmp_path / "nope.yml"
    with pytest.raises(SourceError) as caught:
        load_sources(missing)
    assert str(caught.value) == (
        f"{missing}: cannot read the sources file: No such file or directory"
    )
    with pytest.raises(SourceError) as caught:
        load_sources(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read the sources file: Is a directory"


BASE = {
    "id": "x",
    "agency": "酒泉市人民政府",
    "division_code": "620900",
    "level": "city",
    "cms": "generic",
    "start_urls": ["http://www.jiuquan.gov.cn/"],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start_urls": []}, "field 'start_urls': is required"),
        ({"start_urls": [1]}, "field 'start_urls': must be a URL or a list of URLs"),
        (
            {"start_urls": ["http://www.jiuquan.gov.cn/", "http://www.jiuquan.gov.cn/"]},
            "field 'start_urls': lists the same URL twice",
        ),
        (
            {"start_urls": ["http://www.jiuquan.gov.cn:99999/"]},
            "field 'start_urls': not an http(s) URL (has a bad port): 'http://www.jiuquan.gov.cn:99999/'",
        ),
        (
            {"start_urls": ["http:///zwgk/"]},
            "field 'start_urls': not an http(s) URL (has no valid host name): 'http:///zwgk/'",
        ),
        (
            {"start_urls": ["http://[::1/zwgk/"]},
            "field 'start_urls': not an http(s) URL (Invalid IPv6 URL): 'http://[::1/zwgk/'",
        ),
        ({"id": "Jiu Quan"}, "field 'id': must be a lower-case slug (a-z, 0-9, - and _)"),
        ({"verified": "no"}, "field 'verified': must be true or false"),
        ({"max_pages": True}, "field 'max_pages': must be a positive whole number"),
        ({"max_pages": 0}, "field 'max_pages': must be a positive whole number"),
        (
            {"report_url_pattern": "t(\\d+"},
            "field 'report_url_pattern': bad regular expression: missing ), "
            "unterminated subpattern at position 1",
        ),
        (
            {"report_url_pattern": 5},
            "field 'report_url_pattern': must be a regular expression (text)",
        ),
        (
            {"example_url": ["http://www.jiuquan.gov.cn/a.html"]},
            "field 'example_url': must be one URL",
        ),
        (
            {"allowed_domains": ["jiuquan.gov.cn/"]},
            "field 'allowed_domains': must be a list of host names",
        ),
        ({"encoding": "gbk-ish"}, "field 'encoding': unknown encoding 'gbk-ish'"),
        ({"encoding": "rot13"}, "field 'encoding': 'rot13' is not a text charset"),
        ({"allow_private": "yes"}, "field 'allow_private': must be true or false"),
        (
            {"start_urls": ["http://127.0.0.1:8080/gknb/"]},
            "field 'start_urls': 'http://127.0.0.1:8080/gknb/' is a loopback address 127.0.0.1; "
            "a local test portal needs allow_private: true",
        ),
        (
            {"start_urls": ["http://192.168.10.4/gknb/"]},
            "field 'start_urls': 'http://192.168.10.4/gknb/' is a private address 192.168.10.4; "
            "a local test portal needs allow_private: true",
        ),
        ({"notes": ["a"]}, "field 'notes': must be text"),
    ],
)
def test_bad_field_values(change, message):
    entry = {**BASE, **change}
    who = f"('{entry['id']}')"
    with pytest.raises(SourceError) as caught:
        parse_sources([entry], origin="test.yml")
    assert str(caught.value) == f"test.yml: entry #1 {who}: {message}"


def test_mapping_with_sources_key_and_optional_fields():
    [source] = parse_sources(
        {
            "sources": [
                {
                    **BASE,
                    "start_urls": "http://www.jiuquan.gov.cn/",
                    "encoding": "gb2312",
                    "max_pages": 5,
                    "allowed_domains": ["jiuquan.gov.cn"],
                    "report_url_pattern": r"/t\d{8}_\d+\.html$",
                }
            ]
        }
    )
    assert source.start_urls == ("http://www.jiuquan.gov.cn/",)
    assert source.allowed_domains == ("jiuquan.gov.cn",)
    assert source.domains == ("jiuquan.gov.cn",)
    assert (source.encoding, source.max_pages) == ("gb2312", 5)


def test_local_portal_says_it_is_private() -> None:
    local = {**BASE, "start_urls": ["http://127.0.0.1:8080/gknb/"]}
    for flag in ({"allow_private": True}, {"demo": True}):
        [source] = parse_sources([{**local, **flag}])
        assert source.private_ok and source.domains == ("127.0.0.1",)
    [real] = parse_sources([BASE])
    assert not real.private_ok and not real.allow_private


def test_domains_are_start_hosts_and_allowed_domains() -> None:
    [source] = parse_sources(
        [{**BASE, "allowed_domains": ["gz.gov.cn"], "start_urls": ["http://www.jiuquan.gov.cn/"]}]
    )
    assert source.domains == ("gz.gov.cn", "www.jiuquan.gov.cn")
