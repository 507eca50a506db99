"""JSON lines in (``rules check`` input, labelled sets): one object per line, or an error that says why."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


class InputLineError(ValueError):
    """One input line is unusable."""


def decode_line(raw: bytes, first: bool = False) -> str:
    """One line as text: UTF-8, with a byte-order mark allowed on the first line."""
    try:
        return raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputLineError(f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}") from exc


def parse_object(line: str) -> dict[str, Any]:
    """One line's JSON object."""
    try:
        data = json.loads(line.strip())
    except json.JSONDecodeError as exc:
        raise InputLineError(f"invalid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise InputLineError("expected a JSON object")
    return data


def read_objects(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes, dict[str, Any] | InputLineError]]:
    """``(line number, raw line, its object or why it has none)`` for each line that is not blank."""
    for number, raw in enumerate(lines, 1):
        try:
            line = decode_line(raw, first=number == 1)
            if line.strip():
                yield number, raw, parse_object(line)
        except InputLineError as exc:
            yield number, raw, exc
