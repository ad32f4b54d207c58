"""The sources file: one validated record per portal column we crawl."""

from __future__ import annotations

import codecs
import difflib
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from crawler.urls import address_problem
from postprocess.storage.decode import codec_name

DEFAULT_SOURCES = Path(__file__).with_name("sources.yml")

LEVELS = ("province", "city", "county", "township", "department")
CMS_FAMILIES = ("trs", "hanweb", "generic")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DIVISION = re.compile(r"^\d{6}(\d{6})?$")
# a host name or IPv4 address as it may appear in a start URL (no spaces, no user info)
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


class SourceError(ValueError):
    """A sources file entry is invalid; the message names the entry and the field."""


@dataclass(frozen=True)
class Source:
    id: str
    agency: str
    division_code: str
    level: str
    cms: str
    start_urls: tuple[str, ...]
    verified: bool = False
    province: str | None = None
    city: str | None = None
    allowed_domains: tuple[str, ...] = ()
    attachment_domains: tuple[str, ...] = ()
    example_url: str | None = None
    notes: str | None = None
    # per-source quirks, read by the spiders
    max_pages: int = 50
    encoding: str | None = None
    report_url_pattern: str | None = None
    demo: bool = False
    # a local test portal: loopback/private addresses may be fetched (demo sources may too)
    allow_private: bool = False

    @property
    def domains(self) -> tuple[str, ...]:
        """Hosts the spider may crawl for this source: start-URL hosts and allowed_domains
        (with their subdomains); attachment hosts come on top for reports and attachments."""
        hosts = [urlsplit(u).hostname or "" for u in self.start_urls]
        covered = [
            h for h in hosts if any(h == d or h.endswith("." + d) for d in self.allowed_domains)
        ]
        return tuple(
            dict.fromkeys([*self.allowed_domains, *(h for h in hosts if h not in covered)])
        )

    @property
    def private_ok(self) -> bool:
        """True when the source says its hosts may be private or loopback addresses."""
        return self.allow_private or self.demo

    def as_row(self) -> dict:
        return {
            "id": self.id,
            "agency": self.agency,
            "division_code": self.division_code,
            "level": self.level,
            "cms": self.cms,
            "province": self.province,
            "city": self.city,
            "start_urls": list(self.start_urls),
            "verified": int(self.verified),
            "example_url": self.example_url,
            "notes": self.notes,
            "demo": int(self.demo),
        }


_FIELDS = {f.name: f for f in fields(Source)}
_REQUIRED = ("id", "agency", "division_code", "level", "cms", "start_urls")


def _kind(value: object) -> str:
    """What a YAML value is, in the words of the sources file."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "an empty list"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"the {type(value).__name__} {value!r}"


def _fail_at(
    index: int, entry_id: object, name: str, why: str, origin: str = "sources"
) -> SourceError:
    who = f"entry #{index + 1}" + (f" ({entry_id!r})" if entry_id else "")
    return SourceError(f"{origin}: {who}: field '{name}': {why}")


def _check_url(url: str) -> str | None:
    """Why `url` is not a usable http(s) start URL, or None when it is."""
    if any(c.isspace() for c in url):
        return "contains white space"
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL"
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname or not _HOST.match(parts.hostname) or "@" in parts.netloc:
        return "has no valid host name"
    try:
        _ = parts.port  # raises on a bad port
    except ValueError:
        return "has a bad port"
    return None


def _url_list(
    value: object, index: int, entry_id: object, name: str, origin: str = "sources"
) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail_at(index, entry_id, name, "must be a URL or a list of URLs", origin)
    for url in value:
        why = _check_url(url)
        if why:
            raise _fail_at(index, entry_id, name, f"not an http(s) URL ({why}): {url!r}", origin)
    if len(set(value)) != len(value):
        raise _fail_at(index, entry_id, name, "lists the same URL twice", origin)
    return tuple(value)


def parse_entry(raw: object, index: int, origin: str = "sources") -> Source:
    """Validate one mapping of the sources file and build a Source.

    `origin` (the file name) starts every error message.
    """

    def _fail(index: int, entry_id: object, name: object, why: str) -> SourceError:
        return _fail_at(index, entry_id, str(name), why, origin)

    if not isinstance(raw, dict):
        raise SourceError(
            f"{origin}: entry #{index + 1}: must be a mapping of fields, got {_kind(raw)}"
        )
    entry_id = raw.get("id")
    for name in raw:
        if name not in _FIELDS:
            close = difflib.get_close_matches(str(name), _FIELDS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(_FIELDS)}"
            raise _fail(index, entry_id, name, f"unknown field{hint}")
    for name in _REQUIRED:
        if raw.get(name) in (None, "", []):
            raise _fail(index, entry_id, name, "is required")
    if not isinstance(entry_id, str) or not _SLUG.match(entry_id):
        raise _fail(index, entry_id, "id", "must be a lower-case slug (a-z, 0-9, - and _)")
    if not isinstance(raw["agency"], str):
        raise _fail(index, entry_id, "agency", "must be text")
    code = raw["division_code"]
    if not isinstance(code, str):
        raise _fail(
            index,
            entry_id,
            "division_code",
            f"must be a quoted string (e.g. '230111'), got {type(code).__name__} {code!r}",
        )
    if not _DIVISION.match(code):
        raise _fail(index, entry_id, "division_code", f"must be 6 or 12 digits, got {code!r}")
    if raw["level"] not in LEVELS:
        raise _fail(
            index, entry_id, "level", f"must be one of {', '.join(LEVELS)}, got {raw['level']!r}"
        )
    if raw["cms"] not in CMS_FAMILIES:
        raise _fail(
            index, entry_id, "cms", f"must be one of {', '.join(CMS_FAMILIES)}, got {raw['cms']!r}"
        )
    values: dict = dict(raw)
    values["start_urls"] = _url_list(raw["start_urls"], index, entry_id, "start_urls", origin)
    for name in ("allowed_domains", "attachment_domains"):
        if name in raw:
            items = raw[name]
            if not isinstance(items, list) or not all(
                isinstance(v, str) and _HOST.match(v) for v in items
            ):
                raise _fail(index, entry_id, name, "must be a list of host names")
            values[name] = tuple(items)
    for name in ("verified", "demo", "allow_private"):
        if name in raw and not isinstance(raw[name], bool):
            raise _fail(index, entry_id, name, "must be true or false")
    max_pages = raw.get("max_pages", 1)
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
        raise _fail(index, entry_id, "max_pages", "must be a positive whole number")
    if raw.get("report_url_pattern") is not None:
        if not isinstance(raw["report_url_pattern"], str):
            raise _fail(
                index, entry_id, "report_url_pattern", "must be a regular expression (text)"
            )
        try:
            re.compile(raw["report_url_pattern"])
        except re.error as exc:
            raise _fail(
                index, entry_id, "report_url_pattern", f"bad regular expression: {exc}"
            ) from exc
    if raw.get("example_url") is not None:
        if not isinstance(raw["example_url"], str):
            raise _fail(index, entry_id, "example_url", "must be one URL")
        _url_list(raw["example_url"], index, entry_id, "example_url", origin)
    for name in ("province", "city", "notes", "encoding"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise _fail(index, entry_id, name, "must be text")
    if raw.get("encoding") is not None and codec_name(raw["encoding"]) is None:
        raise _fail(index, entry_id, "encoding", _encoding_problem(raw["encoding"]))
    source = Source(**values)
    if not source.private_ok:
        for url in source.start_urls:
            problem = address_problem(urlsplit(url).hostname or "")
            if problem:
                raise _fail(
                    index,
                    entry_id,
                    "start_urls",
                    f"{url!r} is a {problem}; a local test portal needs allow_private: true",
                )
    return source


def parse_sources(data: object, origin: str = "sources") -> list[Source]:
    """Validate the parsed YAML of a sources file (a list, or a mapping with a `sources` list).

    `origin` (the file name) starts every error message.
    """
    if isinstance(data, dict) and "sources" in data:
        data = data["sources"]
    if not isinstance(data, list) or not data:
        raise SourceError(
            f"{origin}: the file must hold a non-empty list of portals, got {_kind(data)}"
        )
    result = [parse_entry(raw, i, origin) for i, raw in enumerate(data)]
    seen: dict[str, int] = {}
    columns: dict[str, int] = {}
    for i, source in enumerate(result):
        if source.id in seen:
            raise _fail_at(i, source.id, "id", f"duplicates entry #{seen[source.id] + 1}", origin)
        seen[source.id] = i
        # one entry per column: two entries crawling one URL would archive it twice
        for url in source.start_urls:
            if url in columns:
                raise _fail_at(
                    i,
                    source.id,
                    "start_urls",
                    f"{url!r} is already a start URL of entry #{columns[url] + 1} "
                    f"({result[columns[url]].id!r})",
                    origin,
                )
            columns[url] = i
    return result


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        keys: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    "in the mapping that starts",
                    node.start_mark,
                    f"field {key!r} is given twice",
                    key_node.start_mark,
                )
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


def load_sources(path: str | Path = DEFAULT_SOURCES) -> list[Source]:
    """Read and validate a sources file; raises SourceError naming the bad entry and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the sources file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: the sources file is not UTF-8 text (bad byte at offset {exc.start})"
        ) from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from exc
    return parse_sources(data, origin=str(path))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: what is wrong and where (1-based line and column)."""

    def at(mark: yaml.Mark | None) -> str:
        return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""

    problem = getattr(exc, "problem", None)
    if not problem:
        return " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    where = f"{context}{at(getattr(exc, 'context_mark', None))}: " if context else ""
    return f"{where}{problem}{at(getattr(exc, 'problem_mark', None))}"


def with_port(source: Source, port: int) -> Source:
    """The same source with every start URL moved to another port (demo portal)."""

    def move(url: str) -> str:
        parts = urlsplit(url)
        return parts._replace(netloc=f"{parts.hostname}:{port}").geturl()

    return replace(
        source,
        start_urls=tuple(move(u) for u in source.start_urls),
        example_url=move(source.example_url) if source.example_url else None,
    )


__all__ = [
    "DEFAULT_SOURCES",
    "Source",
    "SourceError",
    "load_sources",
    "parse_entry",
    "parse_sources",
    "with_port",
]


def _encoding_problem(label: object) -> str:
    """Why a sources-file encoding is refused: unknown, or a codec that is no text charset."""
    try:
        codecs.lookup(str(label))
    except LookupError:
        return f"unknown encoding {label!r}"
    return f"{label!r} is not a text charset"
