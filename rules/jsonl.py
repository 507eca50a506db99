"""JSON lines in (``rules check`` input, labelled sets): one object per line, or an error that says why.

Input is hostile: a line may be megabytes long, nested a thousand levels deep, or hold
numbers ``json`` cannot turn back into JSON (NaN, Infinity, integers past Python's digit
limit).  Each such line becomes an error for that line alone, and a line longer than the
limit is skipped in chunks, so memory stays bounded whatever the input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, BinaryIO

MAX_LINE_BYTES = 8 * 1024 * 1024
"""The longest input line read (bytes); a longer line gets an error record of its own."""
ID_PREFIX_BYTES = 4096


class InputLineError(ValueError):
    """One input line is unusable."""


class LineTooLongError(InputLineError):
    """A line past the limit; ``prefix`` keeps its first bytes, enough to recover an ``id``."""

    def __init__(self, limit: int, prefix: bytes) -> None:
        super().__init__(f"line longer than {limit} bytes")
        self.prefix = prefix


def decode_line(raw: bytes, first: bool = False) -> str:
    """One line as text: UTF-8, with a byte-order mark allowed on the first line."""
    try:
        return raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputLineError(f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}") from exc


def _no_constant(name: str) -> float:
    raise InputLineError(f"invalid JSON: {name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputLineError(f"invalid JSON: {text[:20]} is out of range")
    return value


def parse_object(line: str) -> dict[str, Any]:
    """One line's JSON object: strict JSON only (no NaN or Infinity), so whatever is read can be written again."""
    try:
        data = json.loads(line.strip(), parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise InputLineError(f"invalid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise InputLineError("invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # an integer past sys.get_int_max_str_digits()
        if isinstance(exc, InputLineError):
            raise
        raise InputLineError("invalid JSON: a number has too many digits") from exc
    if not isinstance(data, dict):
        raise InputLineError("expected a JSON object")
    return data


def read_lines(stream: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes | LineTooLongError]:
    """Each line of ``stream``, or an error in place of a line longer than ``max_bytes``, which is skipped unread."""
    while raw := stream.readline(max_bytes + 1):
        if len(raw) <= max_bytes or raw.endswith(b"\n"):
            yield raw
            continue
        while (rest := stream.readline(max_bytes)) and not rest.endswith(b"\n"):
            pass
        yield LineTooLongError(max_bytes, raw[:ID_PREFIX_BYTES])


def read_objects(
    stream: BinaryIO, max_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes, dict[str, Any] | InputLineError]]:
    """``(line number, raw line, its object or why it has none)`` for each line that is not blank.

    For a line past ``max_bytes``, the raw line is its first few kilobytes, enough to recover an ``id``.
    """
    for number, raw in enumerate(read_lines(stream, max_bytes), 1):
        if isinstance(raw, LineTooLongError):
            yield number, raw.prefix, raw
            continue
        try:
            line = decode_line(raw, first=number == 1)
            if line.strip():
                yield number, raw, parse_object(line)
        except InputLineError as exc:
            yield number, raw, exc
