"""Work out the real character encoding of a crawled page.

Chinese sites declare encodings late (a ``<meta charset=gbk>`` 155 KB into the
page), wrongly (``gb2312`` declared over UTF-8 bytes, a UTF-8 HTTP header over
GBK bytes) or not at all.  Browsers cope; a naive crawler produces mojibake and
the rule engine then sees nothing.  The order here:

1. a byte-order mark;
2. UTF-8, when the bytes are valid UTF-8 and not plain ASCII (valid multi-byte
   UTF-8 is vanishingly unlikely in GBK text of any length), or UTF-8 but for a
   few bad bytes (a truncated or spliced page: at least ``_UTF8_PER_BAD_BYTE``
   valid multi-byte characters for each bad one; GBK text read as UTF-8 stays under
   two, measured on the 495 texts of the rules' real-case dev part);
3. the declared encodings, HTTP header first, then the first ``<meta>`` or XML
   declaration anywhere in the page, accepted if they decode cleanly; only text
   encodings count (a ``charset=hex`` or ``base64`` label is ignored, as browsers
   ignore labels they do not know), and UTF-16/32 only where the body holds the
   NUL bytes they need (browsers read a UTF-16 ``<meta>`` as UTF-8);
4. a statistical guess (charset-normalizer), except that a guess of another
   East Asian double-byte encoding (Korean, Japanese, Big5) yields to GB18030
   when the bytes are valid GB18030: short undeclared GBK text (a fragment, a
   JSONP price answer) is often guessed as Korean cp949, and this crawler reads
   mainland Chinese sites;
5. GB18030, the superset of every Chinese legacy encoding, with replacement.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]{0,400}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]{0,200}encoding\s*=\s*["']([A-Za-z0-9_.-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CHINESE_LEGACY = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "euc-cn", "hz-gb-2312"}
_TOLERATED_ERROR_RATIO = 0.002
_UTF8_PER_BAD_BYTE = 4
_UTF8_MIN_CHARACTERS = 8
# Double-byte encodings whose byte patterns GBK text also fits (Python codec names).
_OTHER_EAST_ASIAN = {
    "big5",
    "big5hkscs",
    "cp932",
    "cp949",
    "cp950",
    "euc_jis_2004",
    "euc_jisx0213",
    "euc_jp",
    "euc_kr",
    "johab",
    "shift_jis",
    "shift_jis_2004",
    "shift_jisx0213",
}


def normalise_name(name: str) -> str | None:
    """Python's codec name for a text encoding ``name``; every Chinese legacy encoding maps to gb18030.

    ``None`` for an unknown name and for codecs that are not text encodings (hex, base64,
    rot13, zlib …): ``str.encode`` refuses those with a LookupError, even for an empty string.
    """
    name = name.strip().lower()
    if name in _CHINESE_LEGACY:
        return "gb18030"
    try:
        codec = codecs.lookup(name).name
        "".encode(codec)
    except LookupError:
        return None
    return codec


def _wide(encoding: str) -> bool:
    return encoding.startswith(("utf-16", "utf-32", "utf_16", "utf_32"))


def _mostly_utf8(body: bytes) -> bool:
    """UTF-8 but for a few bad bytes: many valid multi-byte characters for each replacement."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if char > "\x7f") - bad
    return good >= max(_UTF8_MIN_CHARACTERS, _UTF8_PER_BAD_BYTE * bad)


def declared_in_body(body: bytes) -> str | None:
    """The encoding a page declares in a ``<meta>`` tag or XML declaration, wherever it stands."""
    match = _XML_DECLARATION.search(body[:1024]) or _META_CHARSET.search(body)
    return match.group(1).decode("ascii", "replace") if match else None


def declared_in_header(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _decodes(body: bytes, encoding: str, tolerance: float = 0.0) -> bool:
    if tolerance == 0.0:
        try:
            body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            return False
        return True
    text = body.decode(encoding, errors="replace")
    return text.count("\ufffd") <= max(1, len(text) * tolerance)


def detect(body: bytes, content_type: str | None = None) -> str:
    """The encoding ``body`` is really in (a Python codec name)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return encoding
    if not body.isascii() and (_decodes(body, "utf-8") or _mostly_utf8(body)):
        return "utf-8"
    declared = [declared_in_header(content_type), declared_in_body(body)]
    candidates = [enc for enc in (normalise_name(d) for d in declared if d) if enc]
    if b"\x00" not in body:
        candidates = [enc for enc in candidates if not _wide(enc)]
    for tolerance in (0.0, _TOLERATED_ERROR_RATIO):
        for encoding in candidates:
            if _decodes(body, encoding, tolerance):
                return encoding
    if body.isascii():
        return candidates[0] if candidates else "utf-8"
    guess = from_bytes(body[:65536]).best()
    if guess is not None and _decodes(body, guess.encoding, _TOLERATED_ERROR_RATIO):
        encoding = normalise_name(guess.encoding) or guess.encoding
        if encoding in _OTHER_EAST_ASIAN and _decodes(body, "gb18030"):
            return "gb18030"
        return encoding
    return "gb18030"
