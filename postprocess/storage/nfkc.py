"""Unicode NFKC, several times faster than unicodedata on Chinese text: the one normal form the
search index, the queries and the extractor's label and figure matching are built from."""

from __future__ import annotations

import unicodedata

CACHED = 65536


class _Decompositions(dict):
    """Code point -> its full compatibility decomposition (NFKD), filled on first sight; "\0"
    for one whose decomposition holds a combining mark (canonical reordering may move it)."""

    def __missing__(self, code: int) -> str:
        mapped = unicodedata.normalize("NFKD", chr(code))
        value = "\0" if any(unicodedata.combining(c) for c in mapped) else mapped
        if len(self) < CACHED:  # a hostile text cannot grow the table past this
            self[code] = value
        return value


_NFKD = _Decompositions()


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), several times faster on Chinese text.

    NFKC is NFC of NFKD; without combining marks NFKD is each character's decomposition in
    turn (a table lookup each), and NFC of that is a quick check unless something composes."""
    decomposed = text.translate(_NFKD)
    if "\0" in decomposed:  # a combining mark (or a NUL): the full algorithm
        return unicodedata.normalize("NFKC", text)
    return unicodedata.normalize("NFC", decomposed)
