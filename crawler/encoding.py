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
   declaration anywhere in the page, accepted if they decode cleanly.  A label
   counts only as a browser reads it, through the WHATWG Encoding Standard's label
   table: ``latin1``, ``iso-8859-1`` and ``ascii`` name windows-1252, ``gb2312`` and
   ``gbk`` name GBK (read as its superset GB18030, as the standard's GBK decoder
   does), and Python-only names (``utf_8``, ``cp936``, ``utf-7``, ``hex``, ``base64`` …)
   are ignored, as are the labels of the standard's replacement encoding
   (``hz-gb-2312``, ``iso-2022-kr`` …).  UTF-16 counts only where the body holds the
   NUL bytes it needs (browsers read a UTF-16 ``<meta>`` as UTF-8);
4. a statistical guess (charset-normalizer, among the standard's encodings only, so
   the same bytes always get the same answer), except that a guess of another East
   Asian double-byte encoding (Korean, Japanese, Big5) yields to GB18030 when the
   bytes are valid GB18030: short undeclared GBK text (a fragment, a JSONP price
   answer) is often guessed as Korean, and this crawler reads mainland Chinese sites;
5. GB18030, the superset of every Chinese legacy encoding, with replacement.

No page is ever refused: at worst it is decoded with replacement characters, and
:func:`detect_encoding` says so in its ``doubt``, as it does for a guess made
against a declared label.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import webencodings
from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]{0,400}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]{0,200}encoding\s*=\s*["']([A-Za-z0-9_.-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_TOLERATED_ERROR_RATIO = 0.002
_UTF8_PER_BAD_BYTE = 4
_UTF8_MIN_CHARACTERS = 8
_GUESS_SAMPLE_BYTES = 65536
# WHATWG encodings read with another codec than webencodings picks: GBK as GB18030 (the standard's
# GBK decoder is GB18030's), x-user-defined as windows-1252 (what HTML makes of it in a <meta>).
_WHATWG_TO_CODEC = {"gbk": "gb18030", "x-user-defined": "cp1252"}
# Double-byte encodings whose byte patterns GBK text also fits (the standard's, as Python codec names).
_OTHER_EAST_ASIAN = {"big5hkscs", "cp932", "cp949", "euc_jp", "iso2022_jp"}


@dataclass(frozen=True)
class Detection:
    """The encoding a page is read in (a Python codec name) and, when the text may not be what the
    page means, why: ``"declared gbk, bytes are not gbk: decoded as utf-8 with 3 replacements"``."""

    encoding: str
    doubt: str = ""


def normalise_name(label: str) -> str | None:
    """Python's codec for the WHATWG encoding ``label`` names: gbk → gb18030, latin1 → cp1252, utf-16 → utf-16-le.

    ``None`` for a label the Encoding Standard does not list (Python-only names such as utf_8,
    cp936, mac-roman, utf-7, hex, rot13) and for the labels of its replacement encoding
    (hz-gb-2312, iso-2022-kr …), which a browser decodes to a single U+FFFD.
    """
    encoding = webencodings.lookup(label)
    if encoding is None or encoding.name == "replacement":
        return None
    return _WHATWG_TO_CODEC.get(encoding.name, encoding.codec_info.name)


def _whatwg_codecs() -> list[str]:
    """Every codec a label can name, sorted: the only ones a guess may pick (UTF-16 comes with a BOM)."""
    names = {normalise_name(name) for name in webencodings.LABELS.values()} - {None, "utf-16-le", "utf-16-be"}
    return sorted(name for name in names if name is not None)


_GUESSABLE = _whatwg_codecs()


def _wide(encoding: str) -> bool:
    return encoding.startswith("utf-16")


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
        except UnicodeDecodeError:
            return False
        return True
    text = body.decode(encoding, errors="replace")
    return text.count("\ufffd") <= max(1, len(text) * tolerance)


def _replacements(body: bytes, encoding: str) -> int:
    """How many U+FFFD decoding ``body`` as ``encoding`` puts in for bytes it cannot read."""
    try:
        body.decode(encoding)
    except UnicodeDecodeError:
        return len(body.decode(encoding, errors="replace")) - len(body.decode(encoding, errors="ignore"))
    return 0


def detect(body: bytes, content_type: str | None = None) -> str:
    """The encoding ``body`` is really in (a Python codec name)."""
    return detect_encoding(body, content_type).encoding


def detect_encoding(body: bytes, content_type: str | None = None) -> Detection:
    """The encoding ``body`` is really in, with the doubt about it when there is one."""
    labels = [label for label in (declared_in_header(content_type), declared_in_body(body)) if label]
    encoding, guessed = _choose(body, labels)
    return Detection(encoding, _doubt(body, encoding, labels, guessed))


def _choose(body: bytes, labels: list[str]) -> tuple[str, bool]:
    """The encoding, and whether it is a guess (steps 4 and 5 of the module's order)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return encoding, False
    if not body.isascii() and (_decodes(body, "utf-8") or _mostly_utf8(body)):
        return "utf-8", False
    candidates = [enc for enc in (normalise_name(label) for label in labels) if enc]
    if b"\x00" not in body:
        candidates = [enc for enc in candidates if not _wide(enc)]
    for tolerance in (0.0, _TOLERATED_ERROR_RATIO):
        for encoding in candidates:
            if _decodes(body, encoding, tolerance):
                return encoding, False
    if body.isascii():
        return (candidates[0] if candidates else "utf-8"), False
    return _guess(body), True


def _guess(body: bytes) -> str:
    guess = from_bytes(body[:_GUESS_SAMPLE_BYTES], cp_isolation=_GUESSABLE).best()
    if guess is None:
        return "gb18030"
    encoding = codecs.lookup(guess.encoding).name
    if not _decodes(body, encoding, _TOLERATED_ERROR_RATIO):
        return "gb18030"
    if encoding in _OTHER_EAST_ASIAN and _decodes(body, "gb18030"):
        return "gb18030"
    return encoding


def _doubt(body: bytes, encoding: str, labels: list[str], guessed: bool) -> str:
    """Why the text may not be what the page means, or "" when it surely is.

    A doubt is a decoding that needed replacement characters, or a guess made although
    the page declared labels; it names the declared labels the decoding overrules.
    """
    replacements = _replacements(body, encoding)
    if not replacements and not (guessed and labels):
        return ""
    how = f"decoded as {encoding}"
    if replacements:
        how += f" with {replacements} replacement{'s' if replacements > 1 else ''}"
    if guessed:
        how += " (a guess)"
    overruled = [_label_note(label) for label in labels if normalise_name(label) != encoding]
    return "; ".join(overruled) + f": {how}" if overruled else how


def _label_note(label: str) -> str:
    encoding = webencodings.lookup(label)
    if encoding is None:
        return f"declared {label}, not an encoding label"
    if encoding.name == "replacement":
        return f"declared {label}, which browsers decode as one U+FFFD"
    return f"declared {label}, bytes are not {encoding.name}"
