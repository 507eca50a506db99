"""Pydantic validation errors as users read them: the entry and the field, for messages that also name the file."""

from __future__ import annotations

from typing import Any


def describe_location(data: dict, loc: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into "items[1] (product): field 'fields.title'".

    An entry of a list is labelled by its ``name``; the tag pydantic puts after
    the index of a discriminated union (the entry's ``type``) is no field and is
    left out.  An error of an entry as a whole names its list.
    """
    if len(loc) >= 2 and isinstance(loc[1], int):
        collection, index = loc[0], loc[1]
        entries = data.get(collection)
        entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
        label = f" ({entry['name']})" if isinstance(entry, dict) and "name" in entry else ""
        rest = loc[2:]
        if rest and isinstance(entry, dict) and rest[0] == entry.get("type"):
            rest = rest[1:]
        field = ".".join(map(str, rest)) or str(collection)
        return f"{collection}[{index}]{label}: field '{field}'"
    return f"field '{'.'.join(map(str, loc))}'"
