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

The index `reports_fts(title, agency, body)` is contentless (content=''): it stores only the
postings, its rowid is reports.id, and snippets are cut from reports.text in Python. Its `rank` is
bm25 weighted title 10 : agency 5 : body 1: a report about the term outranks one that mentions it.

The view `report_search` joins the index to reports and exposes the index's MATCH column as
`search_index` and bm25 as `rank`: `WHERE search_index MATCH nianbao_match(:q) ORDER BY rank` is a
ranked search that Datasette's table machinery (filters, facets, paging, JSON, CSV) can serve.
SQLite flattens the view, so the MATCH reaches FTS5 and it sorts by rank itself.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from typing import Any

FTS_TABLE = "reports_fts"
FTS_COLUMNS = ("title", "agency", "body")
RANK = "bm25(10.0, 5.0, 1.0)"  # weights of FTS_COLUMNS
SEARCH_VIEW = "report_search"
MATCH_COLUMN = "search_index"
# reports columns the search view shows, beside id, rank and the match column.
SEARCH_VIEW_COLUMNS = (
    "title",
    "agency",
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
# Query terms: "quoted phrases" or whitespace-separated words.
QUERY_TERM_RE = re.compile(r'"([^"]*)"|(\S+)')

MARK_OPEN = "<mark>"
MARK_CLOSE = "</mark>"
SNIPPET_WIDTH = 60  # characters of context each side of the first hit
SNIPPET_MAX_HITS = 3


def fold(text: str) -> str:
    """The normal form both the index and the queries are built from."""
    return unicodedata.normalize("NFKC", text).lower()


def _runs(text: str) -> list[tuple[str, str]]:
    """Split folded text into (kind, run) pairs, kind 'cjk' or 'word'; separators are dropped."""
    return [(m.lastgroup or "", m.group()) for m in TOKEN_RE.finditer(fold(text))]


def _cjk_tokens(run: str, *, closing: bool = True) -> list[str]:
    if len(run) == 1:
        return [run]
    tokens = [run[i : i + 2] for i in range(len(run) - 1)]
    if closing:
        tokens.append(run[-1])
    return tokens


def ngram_text(text: str | None) -> str:
    """The index form of a text: space-separated bigram/unigram/word tokens."""
    if not text:
        return ""
    out: list[str] = []
    for kind, run in _runs(text):
        out.extend(_cjk_tokens(run) if kind == "cjk" else [run])
    return " ".join(out)


def _term_tokens(term: str) -> tuple[list[str], bool]:
    """Tokens of one query term and whether the last is a prefix (a lone trailing Han char)."""
    runs = _runs(term)
    tokens: list[str] = []
    prefix = False
    for i, (kind, run) in enumerate(runs):
        last = i == len(runs) - 1
        if kind != "cjk":
            tokens.append(run)
            continue
        if last and len(run) == 1 and len(runs) > 1:
            # 2022年 must match 2022 followed by 年度...: any token starting with 年.
            tokens.append(run)
            prefix = True
        else:
            # The text may go on after the term's last run, so no closing unigram there.
            tokens.extend(_cjk_tokens(run, closing=not last))
    return tokens, prefix


def fts_query(query: str | None) -> str:
    """Turn what a reader typed into an FTS5 MATCH expression (terms ANDed, each a phrase)."""
    phrases: list[str] = []
    for m in QUERY_TERM_RE.finditer(query or ""):
        term = m.group(1) if m.group(1) is not None else m.group(2)
        tokens, prefix = _term_tokens(term)
        if not tokens:
            continue
        # Tokens are letters/digits only, so they never contain a double quote.
        phrases.append('"' + " ".join(tokens) + '"' + (" *" if prefix else ""))
    if not phrases:
        # FTS5 rejects an empty MATCH; this phrase matches nothing.
        return '""'
    return " AND ".join(phrases)


def _hit_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of text where any query term occurs (compared in folded form)."""
    terms = []
    for m in QUERY_TERM_RE.finditer(query or ""):
        term = fold(m.group(1) if m.group(1) is not None else m.group(2)).strip()
        if term:
            terms.append(term)
    if not terms or not text:
        return []
    # NFKC can change lengths for rare characters; fold per character to keep offsets aligned.
    folded = "".join(fold(ch)[:1] or ch for ch in text)
    spans: list[tuple[int, int]] = []
    for term in sorted(set(terms), key=len, reverse=True):
        start = 0
        while (pos := folded.find(term, start)) >= 0:
            end = pos + len(term)
            if not any(s < end and pos < e for s, e in spans):
                spans.append((pos, end))
            start = end
    return sorted(spans)


def snippet(text: str | None, query: str | None, width: int = SNIPPET_WIDTH) -> str:
    """A short excerpt around the first hits, each hit wrapped in <mark>...</mark>.

    The excerpt itself is NOT HTML-escaped: it is plain text with marker tags, and whoever renders
    it as HTML escapes it first and then restores only the two marker tags.
    """
    if not text:
        return ""
    spans = _hit_spans(text, query or "")
    if not spans:
        flat = " ".join(text[: width * 2].split())
        return flat + ("…" if len(text) > width * 2 else "")
    spans = spans[:SNIPPET_MAX_HITS]
    start = max(0, spans[0][0] - width)
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


def index_reports(db: Any, batch: int = 2000) -> int:
    """(Re)build reports_fts from the reports table; idempotent. Returns the rows indexed.

    The table and the view come from the migrations (postprocess.storage.db). The old postings
    are deleted and the new ones written in ONE explicit transaction: readers keep the old index
    until the commit, and a process killed half-way leaves the old index and the view in place
    (Python's sqlite3 would otherwise commit DDL and the delete on their own)."""
    conn = _conn(db)
    cols = ", ".join(FTS_COLUMNS)
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"INSERT INTO [{FTS_TABLE}] ([{FTS_TABLE}]) VALUES ('delete-all')")
        conn.execute(f"INSERT INTO [{FTS_TABLE}] ([{FTS_TABLE}], rank) VALUES ('rank', ?)", [RANK])
        cursor = conn.execute("SELECT id, title, agency, text FROM reports ORDER BY id")
        count = 0
        while rows := cursor.fetchmany(batch):
            conn.executemany(
                f"INSERT INTO [{FTS_TABLE}] (rowid, {cols}) VALUES (?, ?, ?, ?)",
                [(r[0], ngram_text(r[1]), ngram_text(r[2]), ngram_text(r[3])) for r in rows],
            )
            count += len(rows)
        conn.execute(f"INSERT INTO [{FTS_TABLE}] ([{FTS_TABLE}]) VALUES ('optimize')")
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return count


def search_reports(db: Any, query: str, limit: int = 50) -> list[dict]:
    """Ranked matches of query across report text, titles and agencies (best first)."""
    conn = _conn(db)
    register_functions(conn)
    rows = conn.execute(
        f"""SELECT id, title, agency, year, rank, nianbao_snippet(text, :q) FROM [{SEARCH_VIEW}]
            WHERE [{MATCH_COLUMN}] MATCH nianbao_match(:q) ORDER BY rank LIMIT :limit""",
        {"q": query, "limit": limit},
    ).fetchall()
    keys = ("id", "title", "agency", "year", "rank", "snippet")
    return [dict(zip(keys, row, strict=True)) for row in rows]
