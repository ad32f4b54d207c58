"""Chinese full-text search over archive.db: an n-gram FTS5 index and its query language.

SQLite's FTS5 tokenizers cannot split Chinese (unicode61 keeps a whole run of Han characters as one
token; trigram misses two-character words such as 复议, 诉讼, 收费). So we tokenize ourselves and
hand FTS5 text that unicode61 can split on spaces:

- every run of CJK characters becomes its overlapping bigrams, plus the run's last character as a
  unigram (复议诉讼 -> 复议 议诉 诉讼 讼); a one-character run is just that character;
- everything else (Latin words, numbers) passes through for unicode61, after NFKC folding
  (full-width ２０２２ -> 2022).

A query term becomes an FTS5 phrase of the same tokens, so a phrase match means the term occurs as
a substring: a CJK run inside the term matches consecutive bigrams of one text run. The unigram
closes a run, so a term that continues past a run boundary (复议，诉讼 / 2022年) still lines up.
Terms separated by spaces are ANDed; "double quotes" keep spaces inside one term.

The index `reports_fts(body, title, agency)` is contentless (content=''): it stores only the
postings, its rowid is reports.id, and snippets are cut from reports.text in Python. Its `rank` is
bm25 weighted title 10 : agency 5 : body 1: a report about the term outranks one that mentions it.

The view `report_search` joins the index to reports and exposes the index's MATCH column as
`search_index` and bm25 as `rank`: `WHERE search_index MATCH nianbao_match(:q) ORDER BY rank` is a
ranked search that Datasette's table machinery (filters, facets, paging, JSON, CSV) can serve.
SQLite flattens the view, so the MATCH reaches FTS5 and it sorts by rank itself.

Ranking is bounded: bm25 scores every match before the first row comes back (and reads every
posting of the query's bigrams for its idf), so a common term costs hundreds of milliseconds on
100,000 reports. A search matching more than RANK_MAX reports is therefore answered newest
archived first (`ORDER BY id DESC`, which FTS5 walks backwards and stops after a page) and says
so; see ranked_order(). The view's id is the index's rowid so that this order reaches FTS5.
"""

from __future__ import annotations

import operator
import re
import sqlite3
import unicodedata
from functools import lru_cache
from typing import Any

from postprocess.storage.nfkc import nfkc

FTS_TABLE = "reports_fts"
# Body first: FTS5 writes a column marker into the position list of every token of every column
# but the first, and the body is nearly all of the index (a quarter of its size, 1 KB a report).
FTS_COLUMNS = ("body", "title", "agency")
WEIGHTS = {"title": 10.0, "agency": 5.0, "body": 1.0}  # bm25: a title hit weighs most
RANK = "bm25(" + ", ".join(str(WEIGHTS[c]) for c in FTS_COLUMNS) + ")"
FTS_DDL = (
    f"CREATE VIRTUAL TABLE [{FTS_TABLE}] USING fts5({', '.join(FTS_COLUMNS)}, content='', "
    "tokenize='unicode61 remove_diacritics 2')"
)
# reports columns indexed in each FTS column
INDEXED = {"title": "title", "agency": "agency", "body": "text"}
SEARCH_VIEW = "report_search"
MATCH_COLUMN = "search_index"
# reports columns the search view shows, beside id, rank and the match column.
SEARCH_VIEW_COLUMNS = (
    "title",
    "agency",
    "agency_name",
    "province",
    "city",
    "level",
    "year",
    "kind",
    "format",
    "published",
    "text",
    "url",
    "document_url",
)

# CJK Unified Ideographs (+ extension A, compatibility ideographs) and 〇.
CJK_CHARS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RUN = f"[{CJK_CHARS}]+"
# Word characters unicode61 would keep: letters and digits outside the CJK ranges.
WORD_RUN = f"[^\\W_{CJK_CHARS}]+"
TOKEN_RE = re.compile(f"(?P<cjk>{CJK_RUN})|(?P<word>{WORD_RUN})")
# Query terms: "quoted phrases" (optionally -"excluded") or whitespace-separated words.
QUERY_TERM_RE = re.compile(r'([-－]?)"([^"]*)"|(\S+)')
OR_WORDS = frozenset({"OR", "|", "｜"})
NOT_WORDS = frozenset({"NOT"})
AND_WORDS = frozenset({"AND"})
MINUS = ("-", "－")

MARK_OPEN = "<mark>"
MARK_CLOSE = "</mark>"
SNIPPET_WIDTH = 60  # characters of context each side of the first hit
SNIPPET_MAX_HITS = 3
# Searches matching more reports than this are shown newest first instead of by bm25 (see above).
RANK_MAX = 2000
ORDER_RELEVANCE = "relevance"
ORDER_NEWEST = "newest"


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """The normal form both the index and the queries are built from: NFKC, lower case, and
    traditional characters as simplified (OpenCC t2s: 復議 -> 复议, 訴訟 -> 诉讼)."""
    return _t2s().convert(nfkc(text).lower())


def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).lower()[:1] or ch


class _FoldTable(dict):
    """str.translate table of _fold_char, filled as characters are met (at most FOLD_CACHED)."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(self) < FOLD_CACHED:
            self[code] = folded
        return folded


FOLD_CACHED = 65536
_FOLD_TABLE = _FoldTable()


def fold_aligned(text: str) -> str:
    """fold() keeping one character per character of text, so offsets carry over to text."""
    # One character for one, by translate() (a C loop): a join over a cached function was 2/3
    # of a snippet's time.
    nfkc = text.translate(_FOLD_TABLE)
    simplified = _t2s().convert(nfkc)
    if len(simplified) == len(nfkc):
        return simplified
    return "".join(_t2s().convert(ch)[:1] or ch for ch in nfkc)


def _runs(text: str) -> list[tuple[str, str]]:
    """Split folded text into (cjk, word) runs, one of the two empty; separators are dropped.
    findall is a C loop: the index's terms (ngram_text) are a tenth of the build's CPU."""
    return TOKEN_RE.findall(fold(text))


def _cjk_tokens(run: str, *, closing: bool = True) -> list[str]:
    if len(run) == 1:
        return [run]
    tokens = list(map(operator.add, run[:-1], run[1:]))  # the bigrams, in a C loop
    if closing:
        tokens.append(run[-1])
    return tokens


def ngram_text(text: str | None) -> str:
    """The index form of a text: space-separated bigram/unigram/word tokens."""
    if not text:
        return ""
    out: list[str] = []
    for cjk, word in _runs(text):
        if cjk:
            out.extend(_cjk_tokens(cjk))
        else:
            out.append(word)
    return " ".join(out)


def _term_tokens(term: str) -> tuple[list[str], bool]:
    """Tokens of one query term and whether the last is a prefix (a lone trailing Han char)."""
    runs = _runs(term)
    tokens: list[str] = []
    prefix = False
    for i, (run, word) in enumerate(runs):
        last = i == len(runs) - 1
        if not run:
            tokens.append(word)
            continue
        if last and len(run) == 1:
            # 2022年 must match 2022 followed by 年度...: any token starting with 年. A lone
            # character (复) is the first half of a bigram or a run's closing unigram.
            tokens.append(run)
            prefix = True
        else:
            # The text may go on after the term's last run, so no closing unigram there.
            tokens.extend(_cjk_tokens(run, closing=not last))
    return tokens, prefix


def parse_query(query: str | None) -> list[tuple[list[str], list[str]]]:
    """What a reader typed as OR-groups of (terms that must occur, terms that must not).

    Words are ANDed; `OR` (or |) starts another group; `-word`, `-"a phrase"` and `NOT word`
    exclude; "double quotes" keep spaces inside one term.
    """
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    negate = False
    for m in QUERY_TERM_RE.finditer(query or ""):
        if m.group(2) is not None:
            term, excluded = m.group(2), bool(m.group(1))
        else:
            term, excluded = m.group(3), False
            if term in OR_WORDS:
                groups.append(([], []))
                negate = False
                continue
            if term in NOT_WORDS:
                negate = True
                continue
            if term in AND_WORDS:
                continue
            if term.startswith(MINUS) and len(term) > 1:
                term, excluded = term[1:], True
        if not term.strip():
            continue
        groups[-1][1 if excluded or negate else 0].append(term)
        negate = False
    return [g for g in groups if g[0] or g[1]]


def _phrase(term: str) -> str | None:
    tokens, prefix = _term_tokens(term)
    if not tokens:
        return None
    # Tokens are letters/digits only, so they never contain a double quote.
    return '"' + " ".join(tokens) + '"' + (" *" if prefix else "")


def fts_query(query: str | None) -> str:
    """Turn what a reader typed into an FTS5 MATCH expression (see parse_query)."""
    groups = []
    for must, must_not in parse_query(query):
        positive = [p for p in map(_phrase, must) if p]
        if not positive:
            continue  # FTS5 cannot match "everything but"; a group of exclusions alone is dropped
        expr = " AND ".join(positive)
        expr += "".join(f" NOT {p}" for p in map(_phrase, must_not) if p)
        groups.append(expr)
    if not groups:
        # FTS5 rejects an empty MATCH; this phrase matches nothing.
        return '""'
    if len(groups) == 1:
        return groups[0]
    return " OR ".join(f"({g})" for g in groups)


def hit_terms(query: str | None) -> list[str]:
    """The folded terms of a query to mark in a text (exclusions and operators dropped)."""
    terms = {fold(t).strip() for must, _ in parse_query(query) for t in must}
    return sorted((t for t in terms if t), key=len, reverse=True)


# Highlighting is bounded whatever the text: only the first SNIPPET_SCAN characters are searched
# for a first hit (a report is rarely longer; past that the snippet is the text's opening), and
# only a window of SNIPPET_WINDOW characters after it for further hits. Work is linear in those.
SNIPPET_SCAN = 1_000_000
SNIPPET_WINDOW = 4 * SNIPPET_WIDTH
SNIPPET_CHUNK = 65_536
QUERY_MAX_TERMS = 16
QUERY_MAX_TERM = 64  # characters of a term used for highlighting
# Hits inside table lines passed over while looking for one in prose, before settling for them.
SNIPPET_TABLE_HITS = 200
LINE_LOOKAROUND = 2_000  # characters either side read to tell a table line


def _terms_pattern(query: str) -> tuple[re.Pattern[str], int] | None:
    """One regex of the query's folded terms (longest first) and the longest term's length."""
    terms = sorted({t[:QUERY_MAX_TERM] for t in hit_terms(query)[:QUERY_MAX_TERMS]})
    if not terms:
        return None
    # Longest first: at one position the longer term wins, as a reader expects.
    ordered = sorted(terms, key=lambda t: (-len(t), t))
    return re.compile("|".join(re.escape(t) for t in ordered)), len(ordered[0])


def _first_hit(text: str, pattern: re.Pattern[str], longest: int) -> int | None:
    """Offset of the first hit in prose, else of the first hit at all (bounded scan).

    Prose says more than table boilerplate (行政复议 | 行政复议 | ...)."""
    limit = min(len(text), SNIPPET_SCAN)
    first_any = None
    table_hits = 0
    pos = 0
    while pos < limit:
        stop = min(limit, pos + SNIPPET_CHUNK)
        # Overlap the next chunk so a term across the boundary is found.
        chunk = fold_aligned(text[pos : min(len(text), stop + longest)])
        for m in pattern.finditer(chunk):
            at = pos + m.start()
            if at >= stop:
                break
            if not _in_table_line(text, at):
                return at
            first_any = at if first_any is None else first_any
            table_hits += 1
            if table_hits >= SNIPPET_TABLE_HITS:
                return first_any
        pos = stop
    return first_any


def _hit_spans(
    text: str, query: str, window: int = SNIPPET_WINDOW, max_hits: int = SNIPPET_MAX_HITS
) -> list[tuple[int, int]]:
    """Non-overlapping spans of the first hits of any query term (compared in folded form).

    Hits are looked for up to SNIPPET_SCAN characters in, and after the first hit only within
    `window` characters: the cost does not depend on the length of the text or the number of
    hits in it.
    """
    compiled = _terms_pattern(query)
    if compiled is None or not text:
        return []
    pattern, longest = compiled
    first = _first_hit(text, pattern, longest)
    if first is None:
        return []
    spans = []
    for m in pattern.finditer(fold_aligned(text[first : first + window])):
        spans.append((first + m.start(), first + m.end()))
        if len(spans) >= max_hits:
            break
    return spans


# four or more bare numbers on one line: a table row read from a PDF (6.属于四类过程性信息 1 0 0 0)
NUMBER_CELLS = re.compile(r"(?:^|\s)-?\d+(?:\.\d+)?(?=\s|$)")


def _in_table_line(text: str, pos: int) -> bool:
    """Whether pos lies on a line of a table: kept as `| a | b |`, or a row of bare numbers."""
    start = text.rfind("\n", max(0, pos - LINE_LOOKAROUND), pos) + 1
    if start == 0:
        start = max(0, pos - LINE_LOOKAROUND)
    end = text.find("\n", pos, pos + LINE_LOOKAROUND)
    line = text[start : end if end >= 0 else min(len(text), pos + LINE_LOOKAROUND)]
    return "|" in line or len(NUMBER_CELLS.findall(line)) >= 4


def snippet(text: str | None, query: str | None, width: int = SNIPPET_WIDTH) -> str:
    """A short excerpt around the first hits, each hit wrapped in <mark>...</mark>.

    The excerpt itself is NOT HTML-escaped: it is plain text with marker tags, and whoever renders
    it as HTML escapes it first and then restores only the two marker tags.
    """
    if not text:
        return ""
    # The excerpt ends at most 1.5 widths after the first hit: later hits would not show.
    spans = _hit_spans(
        text, query or "", window=max(SNIPPET_WINDOW, 2 * width + 2 * QUERY_MAX_TERM)
    )
    if not spans:
        flat = " ".join(text[: width * 2].split())
        return flat + ("…" if len(text) > width * 2 else "")
    start = max(0, spans[0][0] - width)
    if not _in_table_line(text, spans[0][0]):
        # a prose hit: the excerpt starts no earlier than its line
        start = max(start, text.rfind("\n", start, spans[0][0]) + 1)
    end = min(len(text), max(spans[-1][1], spans[0][1] + width) + width // 2)
    spans = [s for s in spans if s[1] <= end]
    out: list[str] = ["…" if start > 0 else ""]
    cursor = start
    for s, e in spans:
        out.append(text[cursor:s])
        out.append(MARK_OPEN + text[s:e] + MARK_CLOSE)
        cursor = e
    out.append(text[cursor:end])
    out.append("…" if end < len(text) else "")
    return " ".join("".join(out).split())


def _conn(db: Any) -> sqlite3.Connection:
    """Accept a sqlite-utils Database or a plain sqlite3 connection."""
    return getattr(db, "conn", db)


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions the search queries use: nianbao_match(q), nianbao_snippet(text, q)."""
    conn.create_function("nianbao_match", 1, fts_query, deterministic=True)
    conn.create_function("nianbao_snippet", 2, snippet, deterministic=True)
    conn.create_function("nianbao_ngrams", 1, ngram_text, deterministic=True)
    conn.create_function("nianbao_rank_max", 0, lambda: RANK_MAX, deterministic=True)


# Matches counted up to RANK_MAX + 1: FTS5 stops there (newest first), whatever the total.
CAPPED_HITS_SQL = (
    f"SELECT count(*) FROM (SELECT 1 FROM [{FTS_TABLE}] WHERE [{FTS_TABLE}] MATCH :match "
    "ORDER BY rowid DESC LIMIT :cap)"
)


def ranked_order(db: Any, match: str) -> str:
    """ORDER_RELEVANCE when the FTS5 expression `match` has at most RANK_MAX matches (bm25 then
    scores few rows), else ORDER_NEWEST. Costs a scan of at most RANK_MAX + 1 matches."""
    (hits,) = _conn(db).execute(CAPPED_HITS_SQL, {"match": match, "cap": RANK_MAX + 1}).fetchone()
    return ORDER_RELEVANCE if hits <= RANK_MAX else ORDER_NEWEST


def index_reports(db: Any, batch: int = 2000) -> int:
    """(Re)build reports_fts from the reports table; idempotent. Returns the rows indexed.

    The table and the view come from the migrations (postprocess.storage.db). The old postings
    are deleted and the new ones written in ONE explicit transaction: readers keep the old index
    until the commit, and a process killed half-way leaves the old index and the view in place
    (Python's sqlite3 would otherwise commit DDL and the delete on their own)."""
    conn = _conn(db)
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        count = fill_index(conn, batch)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return count


def index_columns(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The columns of the reports_fts table as it is in this archive."""
    return tuple(r[1] for r in conn.execute(f"PRAGMA table_info([{FTS_TABLE}])"))


def index_terms(report: dict) -> tuple[str, ...]:
    """The index form of a report's columns, in FTS_COLUMNS order (the build makes them in its
    parser processes, the writer only inserts them: add_to_index)."""
    return tuple(ngram_text(report.get(INDEXED[c])) for c in FTS_COLUMNS)


def start_index(conn: sqlite3.Connection) -> None:
    """Empty reports_fts (made anew when its columns are not FTS_COLUMNS) for add_to_index, in
    the caller's transaction or file: the build writes a copy of the archive and swaps it in."""
    if index_columns(conn) != FTS_COLUMNS:
        conn.execute(f"DROP TABLE [{FTS_TABLE}]")
        conn.execute(FTS_DDL)
    conn.execute(f"INSERT INTO [{FTS_TABLE}] ([{FTS_TABLE}]) VALUES ('delete-all')")
    conn.execute(f"INSERT INTO [{FTS_TABLE}] ([{FTS_TABLE}], rank) VALUES ('rank', ?)", [RANK])


def add_to_index(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Insert (report id, *index_terms) rows into reports_fts."""
    marks = ", ".join("?" for _ in FTS_COLUMNS)
    conn.executemany(
        f"INSERT INTO [{FTS_TABLE}] (rowid, {', '.join(FTS_COLUMNS)}) VALUES (?, {marks})", rows
    )


def finish_index(conn: sqlite3.Connection) -> int:
    """Merge the index's segments into one (fast queries); returns the reports indexed."""
    conn.execute(f"INSERT INTO [{FTS_TABLE}] ([{FTS_TABLE}]) VALUES ('optimize')")
    return conn.execute("SELECT count(*) FROM reports").fetchone()[0]


def fill_index(conn: sqlite3.Connection, batch: int = 2000) -> int:
    """Replace reports_fts (made anew when its columns are not FTS_COLUMNS) by the index of the
    reports table, inside the caller's transaction; returns the rows indexed."""
    start_index(conn)
    sources = ", ".join(INDEXED[c] for c in FTS_COLUMNS)
    cursor = conn.execute(f"SELECT id, {sources} FROM reports ORDER BY id")
    while rows := cursor.fetchmany(batch):
        add_to_index(conn, [(r[0], *map(ngram_text, r[1:])) for r in rows])
    return finish_index(conn)


def search_reports(db: Any, query: str, limit: int = 50) -> list[dict]:
    """Matches of query across report text, titles and agencies: best first, or newest first
    (rank None) when more than RANK_MAX reports match (see ranked_order)."""
    conn = _conn(db)
    register_functions(conn)
    match = fts_query(query)
    if ranked_order(conn, match) == ORDER_RELEVANCE:
        rank, order = "rank", "rank"
    else:
        rank, order = "NULL", "id DESC"  # reading rank would run bm25 over every match
    rows = conn.execute(
        f"""SELECT id, title, agency, year, {rank}, nianbao_snippet(text, :q) FROM [{SEARCH_VIEW}]
            WHERE [{MATCH_COLUMN}] MATCH :match ORDER BY {order} LIMIT :limit""",
        {"q": query, "match": match, "limit": limit},
    ).fetchall()
    keys = ("id", "title", "agency", "year", "rank", "snippet")
    return [dict(zip(keys, row, strict=True)) for row in rows]
