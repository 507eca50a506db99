"""crawler.encoding on synthetic bytes: one test per step of the documented order, and the traps between them.

Real pages (a GBK declaration 155 KB in, gb2312 over UTF-8 bytes, …) are covered by tests/test_realweb.py.
"""

from __future__ import annotations

import codecs
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.encoding import Detection, declared_in_body, declared_in_header, detect, detect_encoding, normalise_name

CHINESE = "苹果手机限时特价，全国包邮！国家级重点专科，治愈率高达百分之九十。"
SHORT_CHINESE = "你好世界"


def page(body: str, head: str = "", title: str = "测试页面") -> str:
    return f"<html><head>{head}<title>{title}</title></head><body><p>{body}</p></body></html>"


# --- 1. byte-order marks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom", "codec", "expected"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
    ],
    ids=["utf-8", "utf-16-le", "utf-16-be"],
)
def test_bom_wins_over_every_declaration(bom: bytes, codec: str, expected: str) -> None:
    body = bom + page(CHINESE, '<meta charset="gbk">').encode(codec)
    assert detect(body, "text/html; charset=gbk") == expected


# --- 2. valid UTF-8 ----------------------------------------------------------------------------


def test_utf8_bytes_under_a_wrong_gbk_meta() -> None:
    assert detect(page(CHINESE, '<meta charset="gbk">').encode("utf-8")) == "utf-8"


def test_utf8_bytes_under_a_wrong_gb2312_header() -> None:
    assert detect(page(CHINESE).encode("utf-8"), "text/html; charset=gb2312") == "utf-8"


def test_utf8_without_any_declaration() -> None:
    assert detect(page(CHINESE).encode("utf-8"), "text/html") == "utf-8"


# --- 3. declarations -------------------------------------------------------------------------


def test_gbk_with_a_meta_far_into_the_page() -> None:
    scripts = "<script>var config = {};</script>\n" * 5000  # ~170 KB of ASCII before the declaration
    body = page(CHINESE, scripts + '<meta http-equiv="Content-Type" content="text/html; charset=gbk">').encode("gbk")
    assert body.index(b"charset=gbk") > 150_000
    encoding = detect(body, "text/html")
    assert encoding == "gb18030"
    assert CHINESE in body.decode(encoding)


def test_gbk_bytes_under_a_utf8_header() -> None:
    body = page(CHINESE, '<meta charset="gbk">').encode("gbk")
    assert detect(body, "text/html; charset=utf-8") == "gb18030"


def test_gbk_bytes_under_a_utf8_header_and_a_utf8_meta() -> None:
    """Both declarations lie: the statistical step has to find GB18030 on its own."""
    body = page(CHINESE, '<meta charset="utf-8">').encode("gbk")
    assert detect(body, "text/html; charset=utf-8") == "gb18030"


def test_header_is_tried_before_meta() -> None:
    """Bytes that decode cleanly either way (GBK 你好 is Latin-1 ÄãºÃ): the HTTP header decides."""
    body = page("\xc4\xe3\xba\xc3", '<meta charset="gbk">', title="Menu").encode("latin-1")
    assert detect(body, "text/html; charset=iso-8859-1") == "cp1252"  # as browsers read ISO-8859-1
    assert detect(body, "text/html") == "gb18030"


def test_xml_declaration() -> None:
    body = f'<?xml version="1.0" encoding="GB2312"?><feed>{CHINESE}</feed>'.encode("gbk")
    assert detect(body) == "gb18030"


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        ('<meta charset="gbk">', "gb18030"),
        ('<meta charset="GB2312">', "gb18030"),
        ('<meta charset="windows-1252">', "cp1252"),
        ('<meta charset="utf-8">', "utf-8"),
        ("", "utf-8"),
        ('<meta charset="no-such-codec">', "utf-8"),
    ],
    ids=["gbk", "gb2312", "windows-1252", "utf-8", "none", "unknown-name"],
)
def test_plain_ascii_keeps_what_it_declares(declaration: str, expected: str) -> None:
    assert detect(page("hello", declaration, title="Hello").encode("ascii")) == expected


def test_ascii_header_declaration() -> None:
    assert detect(b"<p>hello</p>", "text/html; charset=GBK") == "gb18030"


# --- 4. and 5. guessing ----------------------------------------------------------------------


def test_long_undeclared_gbk() -> None:
    assert detect((page(CHINESE) * 20).encode("gbk"), "text/html") == "gb18030"


def test_short_undeclared_gbk_is_not_taken_for_korean() -> None:
    """charset-normalizer guesses cp949 for a few GBK characters; GB18030 must win."""
    assert detect(page(SHORT_CHINESE).encode("gbk"), "text/html") == "gb18030"


def test_undeclared_gb18030_four_byte_characters() -> None:
    text = page(CHINESE + "𠀀𠀁")  # outside GBK, only GB18030 encodes them
    assert detect(text.encode("gb18030")) == "gb18030"


@pytest.mark.parametrize("seed", range(5))
def test_garbage_bytes_do_not_raise(seed: int) -> None:
    rnd = random.Random(seed)
    body = bytes(rnd.randrange(256) for _ in range(4096))
    encoding = detect(body, "text/html; charset=utf-8")
    assert codecs.lookup(encoding)
    body.decode(encoding, errors="replace")


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00" * 100, b"\xff" * 100, b"<meta charset=\x81\x82>\x81", codecs.BOM_UTF8, b"\x81"],
    ids=["empty", "nul", "ff", "binary-charset-name", "bom-only", "lone-lead-byte"],
)
def test_degenerate_bodies_do_not_raise(body: bytes) -> None:
    encoding = detect(body, "text/html; charset=\x00")
    body.decode(encoding, errors="replace")


# --- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gbk", "gb18030"),
        ("GB2312", "gb18030"),
        (" x-gbk ", "gb18030"),
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ("latin1", "cp1252"),
        ("nonsense", None),
    ],
)
def test_normalise_name(name: str, expected: str | None) -> None:
    assert normalise_name(name) == expected


def test_declared_in_body_finds_a_late_meta() -> None:
    body = b"<script></script>" * 20_000 + b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    assert declared_in_body(body) == "gb2312"


def test_declared_in_header() -> None:
    assert declared_in_header('text/html; charset="GBK"') == "GBK"
    assert declared_in_header("text/html") is None
    assert declared_in_header(None) is None


# --- hostile labels and damaged bytes (#19) ----------------------------------------------------


@pytest.mark.parametrize("label", ["hex", "base64", "rot13", "zlib", "bz2", "uu", "quopri"])
def test_a_label_that_names_no_text_encoding_is_ignored(label: str) -> None:
    """<meta charset=hex> raised LookupError and lost the page; browsers ignore labels they do not know."""
    assert normalise_name(label) is None
    body = page(CHINESE, f"<meta charset={label}>").encode("gbk")
    assert detect(body) == "gb18030"
    assert detect(page("hello", f"<meta charset={label}>", title="Hello").encode("ascii")) == "utf-8"


@pytest.mark.parametrize("label", ["utf-16", "utf-16le", "utf-32"])
def test_a_wide_label_on_bytes_without_nul_is_ignored(label: str) -> None:
    """An ASCII or GBK body cannot be UTF-16/32; read it as UTF-16 and every character is garbage."""
    assert detect(page("hello", f'<meta charset="{label}">', title="Hello").encode("ascii")) == "utf-8"
    assert detect(page(CHINESE).encode("gbk"), f"text/html; charset={label}") == "gb18030"


def test_a_short_utf8_page_with_a_few_bad_bytes_stays_utf8() -> None:
    """It used to come out as GB18030 mojibake: a browser shows it as UTF-8 with two replacement marks."""
    body = page(SHORT_CHINESE + "，限时特价全国包邮", '<meta charset="gbk">').encode("utf-8")
    cut = body.index("限".encode())
    assert detect(body[:cut] + b"\xff\xfe" + body[cut:]) == "utf-8"


# --- labels as browsers read them: the WHATWG Encoding Standard's table (#19, item 2) -------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("latin1", "cp1252"),
        ("ISO-8859-1", "cp1252"),
        ("ascii", "cp1252"),
        ("us-ascii", "cp1252"),
        ("gb2312", "gb18030"),
        ("chinese", "gb18030"),
        ("x-gbk", "gb18030"),
        ("GB18030", "gb18030"),
        ("utf-16", "utf-16-le"),
        ("utf-16be", "utf-16-be"),
        ("unicode-1-1-utf-8", "utf-8"),
        ("big5", "big5hkscs"),
        ("euc-kr", "cp949"),
        ("sjis", "cp932"),
        ("x-mac-roman", "mac-roman"),
        ("x-user-defined", "cp1252"),
    ],
)
def test_a_whatwg_label_names_the_encoding_browsers_use(label: str, expected: str) -> None:
    assert normalise_name(label) == expected


@pytest.mark.parametrize(
    "label", ["utf_8", "latin_1", "cp936", "euc-cn", "mac-roman", "utf-7", "idna", "punycode", "utf-32"]
)
def test_a_python_only_label_is_ignored(label: str) -> None:
    """Python knows these names, browsers do not: the page is read from its bytes, as a browser reads it."""
    assert normalise_name(label) is None
    assert detect(page(CHINESE, f"<meta charset={label}>").encode("gbk")) == "gb18030"
    assert detect(page("hello", title="Hello").encode("ascii"), f"text/html; charset={label}") == "utf-8"


def test_a_utf7_label_cannot_smuggle_markup() -> None:
    """Decoded as UTF-7, +ADw-script+AD4- would be <script>; browsers ignore the label and so do we."""
    body = page("+ADw-script+AD4-alert(1)+ADw-/script+AD4-", "<meta charset=utf-7>", title="Hello").encode("ascii")
    assert "+ADw-script+AD4-" in body.decode(detect(body, "text/html; charset=utf-7"))


@pytest.mark.parametrize("label", ["hz-gb-2312", "iso-2022-kr", "iso-2022-cn", "replacement"])
def test_a_replacement_label_is_ignored_and_noted(label: str) -> None:
    """Browsers decode these to a single U+FFFD; the crawler reads the bytes instead, and says it guessed."""
    assert normalise_name(label) is None
    detection = detect_encoding(page(CHINESE).encode("gbk"), f"text/html; charset={label}")
    assert detection.encoding == "gb18030"
    assert detection.doubt == f"declared {label}, which browsers decode as one U+FFFD: decoded as gb18030 (a guess)"


# --- the doubt recorded on a page ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (page(CHINESE, '<meta charset="gbk">').encode("utf-8"), None),
        (page(CHINESE).encode("gbk"), "text/html; charset=gbk"),
        ((page(CHINESE) * 20).encode("gbk"), "text/html"),
        (page("hello", '<meta charset="hz-gb-2312">', title="Hello").encode("ascii"), None),
    ],
    ids=["utf-8-under-a-gbk-label", "gbk-as-declared", "undeclared-gbk", "ascii"],
)
def test_a_sure_decoding_has_no_doubt(body: bytes, content_type: str | None) -> None:
    assert detect_encoding(body, content_type).doubt == ""


def test_utf8_with_bad_bytes_under_a_gbk_label_is_a_doubt() -> None:
    body = page(SHORT_CHINESE + "，限时特价全国包邮", '<meta charset="gbk">').encode("utf-8")
    cut = body.index("限".encode())
    detection = detect_encoding(body[:cut] + b"\xff\xfe" + body[cut:])
    assert detection == Detection("utf-8", "declared gbk, bytes are not gbk: decoded as utf-8 with 2 replacements")


def test_a_guess_against_the_declared_labels_is_a_doubt() -> None:
    detection = detect_encoding(page(CHINESE, "<meta charset=hex>").encode("gbk"), "text/html; charset=utf-8")
    assert detection.encoding == "gb18030"
    assert detection.doubt == (
        "declared utf-8, bytes are not utf-8; declared hex, not an encoding label: decoded as gb18030 (a guess)"
    )


def test_a_declared_encoding_with_a_bad_byte_is_a_doubt() -> None:
    body = (page(CHINESE) * 5).encode("gbk")
    detection = detect_encoding(body[:200] + b"\xff" + body[200:], "text/html; charset=gbk")
    assert detection == Detection("gb18030", "decoded as gb18030 with 1 replacement")


@pytest.mark.parametrize("seed", range(3))
def test_garbage_is_decoded_with_replacement_and_the_doubt_noted(seed: int) -> None:
    rnd = random.Random(seed)
    body = bytes(rnd.randrange(256) for _ in range(4096))
    detection = detect_encoding(body, "text/html; charset=utf-8")
    replaced = body.decode(detection.encoding, errors="replace").count("\ufffd")
    assert replaced > 0
    assert detection.doubt == (
        f"declared utf-8, bytes are not utf-8: decoded as {detection.encoding} with {replaced} replacements (a guess)"
    )


# --- the byte-level guess: the standard's encodings only, the same answer every run ----------------

# The Encoding Standard's encodings, less UTF-16 (found by its BOM) and the replacement encoding.
WHATWG_CODECS = {
    normalise_name(name)
    for name in (
        "utf-8 ibm866 iso-8859-2 iso-8859-3 iso-8859-4 iso-8859-5 iso-8859-6 iso-8859-7 iso-8859-8 iso-8859-8-i "
        "iso-8859-10 iso-8859-13 iso-8859-14 iso-8859-15 iso-8859-16 koi8-r koi8-u macintosh windows-874 "
        "windows-1250 windows-1251 windows-1252 windows-1253 windows-1254 windows-1255 windows-1256 windows-1257 "
        "windows-1258 x-mac-cyrillic gbk gb18030 big5 euc-jp iso-2022-jp shift_jis euc-kr x-user-defined"
    ).split()
}
AMBIGUOUS = [bytes(random.Random(seed).randrange(128, 256) for _ in range(2 + seed % 37)) for seed in range(60)]


def test_a_guess_is_always_one_of_the_standards_encodings() -> None:
    """Unrestricted, charset-normalizer guessed UTF-16 on bytes without NUL, ptcp154, cp1125, mac_greek …"""
    assert {detect(b"<p>" + body + b"</p>") for body in AMBIGUOUS} <= WHATWG_CODECS


def test_a_guess_is_the_same_in_every_process() -> None:
    """String hashing changes from one process to the next; the guess must not."""
    script = "import json; from crawler.encoding import detect; from tests.test_encoding import AMBIGUOUS\n"
    script += "print(json.dumps([detect(b'<p>' + body + b'</p>') for body in AMBIGUOUS]))"
    runs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=Path(__file__).parents[1],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(runs) == 1
    assert json.loads(runs.pop()) == [detect(b"<p>" + body + b"</p>") for body in AMBIGUOUS]
