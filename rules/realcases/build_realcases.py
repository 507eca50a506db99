"""Build ``dev.jsonl`` and ``test.jsonl``: real ad texts from published cases, split by source.

The collected lines (``raw/*.jsonl``, one object per ad: the ad's own wording as a
published enforcement report quotes it, or a real compliant passage, with its
outlet, URL, date and the articles the regulator named) are checked, their
article citations brought to one spelling at 条 level, duplicates dropped, and
then split **by source**, never by item: every line of one announcement batch,
and every batch sharing an ad text or a punished party with it, falls into the
same part.  A group goes to the test part when a hash of its batch keys falls
under ``TEST_SHARE``, so the split depends only on the sources, not on the engine.

The test part is frozen: ``tests/rules/test_realcases.py`` pins its digest.
Run ``.venv/bin/python rules/realcases/build_realcases.py`` to rebuild the dev part after
adding collected lines; it refuses to change a frozen test part.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rules.rulebook import CATEGORY_KEYS

HERE = Path(__file__).resolve().parent
RAW_DIR = HERE / "raw"
TEST_SHARE = 0.36
# Batches whose lines were read while tuning on a provisional dev part, before the freeze
# (the batch was renamed afterwards, which moved its hash): they stay in dev.
READ_BEFORE_FREEZE = frozenset({"国家食品药品监管总局2014年第3期药品医疗器械保健食品违法广告情况"})
LAW_ALIASES = {
    "中华人民共和国广告法": "广告法",
    "广告法": "广告法",
    "中华人民共和国食品安全法": "食品安全法",
    "食品安全法": "食品安全法",
    "中华人民共和国药品管理法": "药品管理法",
    "药品管理法": "药品管理法",
    "中华人民共和国反不正当竞争法": "反不正当竞争法",
    "反不正当竞争法": "反不正当竞争法",
    "药品、医疗器械、保健食品、特殊医学用途配方食品广告审查管理暂行办法": "广告审查暂行办法",
    "广告审查暂行办法": "广告审查暂行办法",
}
_ARTICLE = re.compile(r"《?([^《》第]*?)》?第([一二三四五六七八九十百零〇]+|\d+)条")
_DIGITS = "零一二三四五六七八九"


def chinese_number(value: int) -> str:
    """1..199 written as in article numbers (十七, 二十八, 一百零一)."""
    hundreds, rest = divmod(value, 100)
    tens, units = divmod(rest, 10)
    head = f"{_DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        middle = ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    else:
        middle = "零" if hundreds and units else ""
    return head + middle + (_DIGITS[units] if units else "")


def article_key(citation: str) -> str | None:
    """``《中华人民共和国广告法》第17条第一款`` → ``广告法第十七条``; ``None`` when no article is named."""
    match = _ARTICLE.search(citation.replace(" ", ""))
    if not match:
        return None
    law, number = match.group(1).strip("《》 "), match.group(2)
    if number.isdigit():
        number = chinese_number(int(number))
    return f"{LAW_ALIASES.get(law, law)}第{number}条"


def normalised_text(text: str) -> str:
    """The text reduced for duplicate detection: NFKC, no spaces or punctuation."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if ch.isalnum())


def read_raw(folder: Path) -> list[dict[str, Any]]:
    """Every collected line, checked; an unusable line stops the build naming its file and line."""
    items: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        compliant_file = path.stem.startswith("compliant")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                items.append(_checked(json.loads(line), compliant_file, f"{path.name}:{number}"))
    return items


def _checked(data: dict[str, Any], compliant_file: bool, where: str) -> dict[str, Any]:
    text = (data.get("text") or "").strip()
    source = data.get("source") or {}
    if not text or not isinstance(text, str):
        raise ValueError(f"{where}: no text")
    if not source.get("url"):
        raise ValueError(f"{where}: no source url")
    category = data.get("category") or "general"
    if category not in CATEGORY_KEYS:
        raise ValueError(f"{where}: unknown category {category!r}")
    label = data.get("label") or ("compliant" if compliant_file else "violation")
    articles = sorted({key for key in map(article_key, data.get("articles") or []) if key})
    return {
        "text": text,
        "title": (data.get("title") or "").strip(),
        "category": category,
        "label": label,
        "violations": articles if label == "violation" else [],
        "kind": data.get("kind") or ("case" if label == "violation" else "other"),
        "why": data.get("why") or "",
        "party": data.get("party") or "",
        "regulator": data.get("regulator") or "",
        "date": str(data.get("date") or ""),
        "source": {key: str(source.get(key) or "") for key in ("outlet", "title", "url", "published")},
        "batch": str(data.get("batch") or source.get("url") or "").strip(),
    }


def deduplicated(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per ad text; a text quoted by two reports keeps the first and notes the other batch."""
    kept: dict[str, dict[str, Any]] = {}
    for item in items:
        key = normalised_text(item["text"])
        if key in kept:
            kept[key].setdefault("also_batches", []).append(item["batch"])
        else:
            kept[key] = item
    return list(kept.values())


def source_groups(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Batches joined into groups when they share an ad text or a punished party (union–find)."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    by_party: dict[str, str] = {}
    for item in items:
        find(item["batch"])
        for other in item.get("also_batches", []):
            union(item["batch"], other)
        party = item["party"].strip()
        if len(party) >= 4:
            union(item["batch"], by_party.setdefault(party, item["batch"]))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        groups[find(item["batch"])].append(item)
    return groups


def _share(group: list[dict[str, Any]]) -> float:
    keys = sorted({item["batch"] for item in group})
    digest = hashlib.sha256("\n".join(keys).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(dev, test) by source group; ids are stable: ``rc-`` and a hash of the text."""
    dev: list[dict[str, Any]] = []
    test: list[dict[str, Any]] = []
    for group in source_groups(items).values():
        read = any(item["batch"] in READ_BEFORE_FREEZE for item in group)
        part = test if _share(group) < TEST_SHARE and not read else dev
        part.extend(group)
    for item in dev + test:
        item["id"] = "rc-" + hashlib.sha256(normalised_text(item["text"]).encode("utf-8")).hexdigest()[:10]
    return sorted(dev, key=lambda i: i["id"]), sorted(test, key=lambda i: i["id"])


def write_jsonl(path: Path, items: Iterable[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")


def main(argv: list[str]) -> int:
    items = deduplicated(read_raw(RAW_DIR))
    dev, test = split(items)
    test_path = HERE / "test.jsonl"
    if test_path.exists() and "--refreeze" not in argv:
        frozen = test_path.read_text(encoding="utf-8")
        frozen_ids = {json.loads(line)["id"] for line in frozen.splitlines() if line.strip()}
        late = [item for item in test if item["id"] not in frozen_ids]
        test = [item for item in test if item["id"] in frozen_ids]
        print(f"test part frozen ({len(frozen_ids)} items): only dev.jsonl is rewritten;")
        print(f"{len(late)} new lines from test sources left out")
    else:
        write_jsonl(test_path, test)
    write_jsonl(HERE / "dev.jsonl", sorted(dev, key=lambda i: i["id"]))
    for name, part in (("dev", dev), ("test", test)):
        violations = sum(item["label"] == "violation" for item in part)
        batches = len({item["batch"] for item in part})
        compliant = len(part) - violations
        print(f"{name}: {len(part)} items, {violations} violations, {compliant} compliant, {batches} batches")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
