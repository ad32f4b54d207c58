"""The one decoder for HTML (and plain-text) bytes, used by the crawler and by the build.

Order: a forced encoding (a source's `encoding`) wins; then the HTTP header charset, a BOM, the
document's own `<meta charset>` / http-equiv / XML declaration, then detection
(charset-normalizer). A declaration the bytes contradict is refused and the next step is tried:
GBK bytes served as `utf-8` decode to replacement characters, UTF-8 bytes labelled `gb2312`
decode without errors but are valid UTF-8, which GBK text practically never is. The GBK family
is read as its superset gb18030, as browsers and w3lib do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import charset_normalizer
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

log = logging.getLogger(__name__)

# Labels w3lib does not resolve but portals send.
EXTRA_LABELS = {"x-gbk": "gb18030", "x-gb2312": "gb18030", "x-euc-cn": "gb18030"}
# Up to this many replacement characters are tolerated (a truncated page, one stray byte) ...
TOLERATED_BAD = 3
# ... unless they are at least this share of the non-ASCII bytes.
BAD_SHARE = 0.05
# Detection looks at this much of the body (enough for any page's language, bounded in time).
DETECT_BYTES = 200_000
# Valid UTF-8 with at least this many non-ASCII characters contradicts a legacy declaration.
UTF8_EVIDENCE = 4
ASCII_BYTES = bytes(range(0x80))
HIGH_BYTES = bytes(range(0x80, 0x100))
# Share of non-ASCII characters in GB2312 for bytes to count as GBK-family Chinese text.
GB2312_SHARE = 0.9
GBK_EVIDENCE = 2  # characters; two-byte GB2312 pairs do not happen by chance in Latin text
UNICODE_CODECS = ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec used
    how: str  # forced | header | bom | meta | detected | utf-8 | fallback
    refused: tuple[str, ...] = ()  # declarations the bytes contradicted, as "header:utf-8"


@lru_cache(maxsize=256)
def codec_name(label: str | None) -> str | None:
    """The Python codec for a charset label (GBK family -> gb18030), or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("'\"").lower()
    if label in EXTRA_LABELS:
        return EXTRA_LABELS[label]
    name = resolve_encoding(label)
    if name is None:
        return None
    try:
        # refuses codecs that are not text encodings (rot13, base64 ...)
        b"a".decode(name, errors="replace")
    except (LookupError, UnicodeError):  # idna, punycode: no charset either
        return None
    return name


def _bad(text: str) -> int:
    return text.count("\ufffd")


@lru_cache(maxsize=64)
def _single_byte(codec: str) -> bool:
    return len(HIGH_BYTES.decode(codec, errors="replace")) == len(HIGH_BYTES)


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def reads_as_gbk(body: bytes) -> bool:
    """True when the bytes are GB18030 text of common simplified characters (GB2312 level).

    Latin text or Big5 read as GB18030 decodes (if at all) to mostly rarer characters, since
    GB2312 needs both bytes of a character at 0xA1 or above.
    """
    try:
        text = body.decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = [c for c in text[:DETECT_BYTES] if ord(c) >= 0x80]
    if len(wide) < GBK_EVIDENCE:
        return False
    common = sum(1 for c in wide if c.encode("gb2312", "ignore"))
    return common >= GB2312_SHARE * len(wide)


def _contradicted(body: bytes, codec: str, text: str) -> bool:
    """True when the bytes show that `codec` is not their encoding."""
    bad = _bad(text)
    if bad:
        non_ascii = len(body.translate(None, ASCII_BYTES)) or 1
        if bad > TOLERATED_BAD or bad >= BAD_SHARE * non_ascii:
            return True
    if codec.replace("_", "-") in UNICODE_CODECS:
        return False
    try:
        if _non_ascii(body.decode("utf-8")) >= UTF8_EVIDENCE:
            return True  # valid UTF-8 under a legacy label
    except UnicodeDecodeError:
        pass
    # Tomcat's default ISO-8859-1 on a GBK page: a Latin label the bytes do not fit.
    return _single_byte(codec) and reads_as_gbk(body)


def _decode(body: bytes, codec: str) -> str:
    text = body.decode(codec, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def detect(body: bytes) -> str | None:
    """The codec charset-normalizer finds for the bytes alone (GBK family as gb18030)."""
    try:
        body.decode("utf-8")
        return "utf-8"  # pure ASCII or valid UTF-8: nothing else reads them as well
    except UnicodeDecodeError:
        pass
    if reads_as_gbk(body):
        return "gb18030"  # the other encoding of Chinese portals (spec/portals.md)
    best = charset_normalizer.from_bytes(body[:DETECT_BYTES]).best()
    return codec_name(best.encoding) if best is not None else None


def decode_html_bytes(
    body: bytes, content_type: str | None = None, encoding: str | None = None
) -> Decoded:
    """Decode with the first charset the bytes agree with; see the module docstring."""
    if encoding:
        forced = codec_name(encoding)
        if forced is None:
            raise LookupError(f"unknown text encoding {encoding!r}")
        return Decoded(_decode(body, forced), forced, "forced")
    bom, _ = read_bom(body)
    # looked at in turn: the document's own declaration is only read when the header's and the
    # BOM's are missing or refused
    declared = (
        ("header", lambda: http_content_type_encoding(content_type) if content_type else None),
        ("bom", lambda: codec_name(bom)),
        ("meta", lambda: html_body_declared_encoding(body)),
    )
    refused: list[str] = []
    tried: list[tuple[str, str, str]] = []
    for how, label_of in declared:
        codec = codec_name(label_of())
        if codec is None or any(codec == c for _, c, _ in tried):
            continue
        text = _decode(body, codec)
        if not _contradicted(body, codec, text):
            return Decoded(text, codec, how, tuple(refused))
        refused.append(f"{how}:{codec}")
        tried.append((how, codec, text))
    guess = detect(body)
    if guess is not None:
        text = _decode(body, guess)
        if not tried or _bad(text) <= min(_bad(t) for _, _, t in tried):
            how = "utf-8" if guess == "utf-8" else "detected"
            if refused:
                log.info("declared charset %s refused by the bytes; read as %s", refused, guess)
            return Decoded(text, guess, how, tuple(refused))
        tried.append(("detected", guess, text))
    if tried:
        # Nothing fits: the least damaged reading.
        how, codec, text = min(tried, key=lambda t: _bad(t[2]))
        return Decoded(text, codec, how, tuple(r for r in refused if r != f"{how}:{codec}"))
    return Decoded(_decode(body, "utf-8"), "utf-8", "fallback")


def decode_html(
    body: bytes | str, content_type: str | None = None, encoding: str | None = None
) -> str:
    """Text of an HTML or plain-text body (str passes through); see `decode_html_bytes`."""
    if isinstance(body, str):
        return body
    return decode_html_bytes(body, content_type, encoding).text


def is_text_encoding(label: str) -> bool:
    """True when `label` names a codec that turns bytes into text (for validating sources)."""
    return codec_name(label) is not None


__all__ = [
    "Decoded",
    "codec_name",
    "decode_html",
    "decode_html_bytes",
    "detect",
    "is_text_encoding",
]
