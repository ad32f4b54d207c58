"""The sources file: one validated record per portal column we crawl."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

import yaml

DEFAULT_SOURCES = Path(__file__).with_name("sources.yml")

LEVELS = ("province", "city", "county", "township", "department")
CMS_FAMILIES = ("trs", "hanweb", "generic")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DIVISION = re.compile(r"^\d{6}(\d{6})?$")


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

    @property
    def domains(self) -> tuple[str, ...]:
        """Hosts the spider may crawl for this source (attachment hosts come on top)."""
        if self.allowed_domains:
            return self.allowed_domains
        return tuple(dict.fromkeys(urlsplit(u).hostname or "" for u in self.start_urls))

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


def _fail(index: int, entry_id: object, name: str, why: str) -> SourceError:
    who = f"entry #{index + 1}" + (f" ({entry_id!r})" if entry_id else "")
    return SourceError(f"sources: {who}: field '{name}': {why}")


def _url_list(value: object, index: int, entry_id: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(index, entry_id, name, "must be a URL or a list of URLs")
    for url in value:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _fail(index, entry_id, name, f"not an http(s) URL: {url!r}")
    return tuple(value)


def parse_entry(raw: object, index: int) -> Source:
    """Validate one mapping of the sources file and build a Source."""
    if not isinstance(raw, dict):
        raise SourceError(f"sources: entry #{index + 1}: must be a mapping, got {type(raw).__name__}")
    entry_id = raw.get("id")
    for name in raw:
        if name not in _FIELDS:
            raise _fail(index, entry_id, name, "unknown field (typo?)")
    for name in _REQUIRED:
        if raw.get(name) in (None, "", []):
            raise _fail(index, entry_id, name, "is required")
    if not isinstance(entry_id, str) or not _SLUG.match(entry_id):
        raise _fail(index, entry_id, "id", "must be a lower-case slug (a-z, 0-9, - and _)")
    if not isinstance(raw["agency"], str):
        raise _fail(index, entry_id, "agency", "must be text")
    code = raw["division_code"]
    if not isinstance(code, str):
        raise _fail(index, entry_id, "division_code", "must be a quoted string (e.g. '230111')")
    if not _DIVISION.match(code):
        raise _fail(index, entry_id, "division_code", f"must be 6 or 12 digits, got {code!r}")
    if raw["level"] not in LEVELS:
        raise _fail(index, entry_id, "level", f"must be one of {', '.join(LEVELS)}")
    if raw["cms"] not in CMS_FAMILIES:
        raise _fail(index, entry_id, "cms", f"must be one of {', '.join(CMS_FAMILIES)}")
    values: dict = dict(raw)
    values["start_urls"] = _url_list(raw["start_urls"], index, entry_id, "start_urls")
    for name in ("allowed_domains", "attachment_domains"):
        if name in raw:
            items = raw[name]
            if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
                raise _fail(index, entry_id, name, "must be a list of host names")
            values[name] = tuple(items)
    for name in ("verified", "demo"):
        if name in raw and not isinstance(raw[name], bool):
            raise _fail(index, entry_id, name, "must be true or false")
    if "max_pages" in raw and (not isinstance(raw["max_pages"], int) or raw["max_pages"] < 1):
        raise _fail(index, entry_id, "max_pages", "must be a positive whole number")
    if raw.get("report_url_pattern") is not None:
        try:
            re.compile(raw["report_url_pattern"])
        except re.error as exc:
            raise _fail(index, entry_id, "report_url_pattern", f"bad regular expression: {exc}") from exc
    if raw.get("example_url") is not None:
        _url_list(raw["example_url"], index, entry_id, "example_url")
    for name in ("province", "city", "notes", "encoding"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise _fail(index, entry_id, name, "must be text")
    return Source(**values)


def parse_sources(data: object) -> list[Source]:
    """Validate the parsed YAML of a sources file."""
    if isinstance(data, dict) and "sources" in data:
        data = data["sources"]
    if not isinstance(data, list) or not data:
        raise SourceError("sources: the file must hold a non-empty list of portals")
    result = [parse_entry(raw, i) for i, raw in enumerate(data)]
    seen: dict[str, int] = {}
    for i, source in enumerate(result):
        if source.id in seen:
            raise _fail(i, source.id, "id", f"duplicates entry #{seen[source.id] + 1}")
        seen[source.id] = i
    return result


def load_sources(path: str | Path = DEFAULT_SOURCES) -> list[Source]:
    """Read and validate a sources file; raises SourceError naming the bad entry and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"sources: cannot read {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"sources: {path} is not valid YAML: {exc}") from exc
    return parse_sources(data)


def with_port(source: Source, port: int) -> Source:
    """The same source with every start URL moved to another port (demo portal)."""

    def move(url: str) -> str:
        parts = urlsplit(url)
        return parts._replace(netloc=f"{parts.hostname}:{port}").geturl()

    return replace(source, start_urls=tuple(move(u) for u in source.start_urls),
                   example_url=move(source.example_url) if source.example_url else None)


__all__ = ["Source", "SourceError", "load_sources", "parse_sources", "with_port"]
