"""Throughput of the rule engine against two baselines, on >= 20 MB of realistic ad text.

The corpus is built from the development set's hand-written fragments
(``rules/devset/build_devset.py``): each ad is a category's lawful product text,
padded with ordinary page copy (specifications, delivery, after-sales, store
notes) to a size drawn from a log-normal distribution (median about 1 KB,
clipped to 0.15–16 KB; the sandbox's crawled ads have a median of 0.6 KB, real
product pages are often 1–5 KB), with near-miss lawful wording, the category's
mandatory statements (sometimes left out) and, in about a third of the ads, one
or two violating fragments or a hand-written evasion item.  Numbers (prices,
order numbers, dates) vary so that no two ads are the same.

Every contender is called once per ad, in one process, on the same corpus:

* (a) one Python ``re`` alternation of every rulebook term (``findall``);
* (b) a bare pyahocorasick scan of the same terms (``list(automaton.iter(text))``),
  with no normalisation, classification or exemptions;
* the engine, ``RuleEngine.check(text)`` with and without a category hint;
* ``RuleEngine.classify(text)``: normalisation, the scan and classification, all
  that a check does before it evaluates any rule, so the ceiling of its speed.

Each round checks the corpus with a newly built engine, so that its memos
(classification, jieba windows) start empty as they do in a crawl and help only
where the corpus itself repeats; building it and loading jieba's dictionary are
not timed.
Each measurement is repeated (``--repeat``, interleaved) and the median is
reported in MB/s (UTF-8 megabytes), with the ratios.  When the saved real pages
are at hand (``../shared/realweb``, or ``ADWATCH_REALWEB_DIR``), the engine and
baseline (a) are also timed on their visible text: whole pages, not single ads,
with the long navigation menus, inline JSON and traditional characters that
synthetic ads lack.  MB/s are computed from the
process's CPU time, which other load on a shared machine barely affects, and
from wall-clock time too.  The target (issue #13): a check at no less than 0.6x the
bare automaton scan (b); the regex alternation (a) is the naive baseline, slower as
the rulebook's lexicons grow.  Prints; asserts nothing.

    python bench/bench_rules.py [--mb 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import ahocorasick
import lxml.html

from crawler.encoding import detect
from rules.engine import RuleEngine
from rules.evaluate import DEFAULT_DEVSET_DIR, read_items
from rules.normalize import normalize

REPO = Path(__file__).resolve().parents[1]
MEDIAN_BYTES = 1000
SIGMA = 0.8
MIN_BYTES, MAX_BYTES = 150, 16_000
VIOLATING_SHARE = 0.33

# Ordinary, lawful page copy of the kind that surrounds an ad's claims.
PAGE_COPY = (
    "【规格参数】净含量：{n}g，尺寸：{a}×{b}×{c}mm，颜色：米白/灰蓝/墨绿，产地：浙江杭州。",
    "下单后48小时内发货，默认中通/圆通快递，偏远地区（新疆、西藏）需补运费{p}元。",
    "支持7天无理由退换货（商品完好、不影响二次销售），退货运费由买家承担。",
    "客服在线时间：每天9:00-21:00，咨询热线400-{a}{b}-{c}，节假日正常发货。",
    "订单号：{o}，下单时间：2025-{m:02d}-{d:02d} {h:02d}:{mi:02d}。",
    "会员积分：每消费1元累积1积分，积分可在下次购物时抵扣现金，满{p}元可用。",
    "本店为品牌授权专营店，所售商品均为正品，支持专柜验货，假一赔三。",
    "包装清单：主机×1，说明书×1，保修卡×1，合格证×1。",
    "温馨提示：由于显示器差异，图片颜色与实物可能略有色差，请以收到的实物为准。",
    "发票说明：本店支持开具增值税普通发票，请在下单时备注抬头和税号。",
    "物流说明：江浙沪地区一般次日送达，其他地区3-5天送达，如遇大促期间可能延迟1-2天。",
    "评价晒图：买家{o}号评价“包装很仔细，做工不错，和描述一致”，追加评价“用了两周没问题”。",
    "店铺地址：滨江市文华路{n}号{a}栋{b}室，营业时间10:00-22:00。",
    "价格说明：划线价为商品的专柜价或曾经展示过的销售价，并非原价，仅供参考；未划线价格为实时标价。",
    "活动时间：2025年{m}月{d}日至{m}月{d2}日，满{p}减{q}，每个账号限用一次。",
    "Product size: {a}x{b} cm, weight {n} g, model NO. AW-{o}, SKU {c}{a}.",
    "售后保障：自签收之日起15天内出现质量问题可换货，一年内免费保修，人为损坏不在保修范围内。",
    "储存方法：请置于阴凉干燥处，避免阳光直射和高温潮湿环境，开封后请尽快使用。",
    "生产日期：见包装标注；执行标准：GB/T {o}；生产许可证编号：SC{o}{a}{b}。",
    "为了保障您的权益，请在签收时当面开箱验货，如有破损请拒签并联系客服处理。",
    "关注店铺可领取{q}元无门槛优惠券，新品上架第一时间通知。",
    "本产品由滨江华美日用品有限公司生产，地址：滨江市经济开发区创业路{n}号。",
    "使用方法：取适量于掌心，均匀涂抹于所需部位，轻轻按摩至吸收。",
    "常见问题：Q：可以货到付款吗？A：支持部分地区货到付款，下单时选择即可。",
)


def _devset_fragments() -> ModuleType:
    path = DEFAULT_DEVSET_DIR / "build_devset.py"
    spec = importlib.util.spec_from_file_location("_devset_fragments", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fill(template: str, rng: random.Random) -> str:
    values = {
        "n": rng.randint(10, 999),
        "a": rng.randint(10, 99),
        "b": rng.randint(10, 99),
        "c": rng.randint(100, 999),
        "p": rng.randint(5, 99),
        "q": rng.randint(3, 50),
        "o": rng.randint(10000, 99999),
        "m": rng.randint(1, 12),
        "d": rng.randint(1, 14),
        "d2": rng.randint(15, 28),
        "h": rng.randint(0, 23),
        "mi": rng.randint(0, 59),
    }
    return template.format(**values)


def _ad_size(rng: random.Random) -> int:
    return int(min(MAX_BYTES, max(MIN_BYTES, rng.lognormvariate(math.log(MEDIAN_BYTES), SIGMA))))


def _one_ad(fragments: ModuleType, hand_written: Sequence[str], rng: random.Random) -> tuple[str, str, str]:
    category = rng.choice(list(fragments.BASES))
    title, base = rng.choice(fragments.BASES[category])
    parts = [base]
    if rng.random() < VIOLATING_SHARE:
        for _ in range(rng.choice((1, 1, 2))):
            if rng.random() < 0.2:
                parts.append(rng.choice(hand_written))
            else:
                parts.append(rng.choice(fragments.VIOLATIONS[category])[0])
    parts.extend(rng.sample(fragments.NEAR_MISSES[category], k=min(2, len(fragments.NEAR_MISSES[category]))))
    mandatory = [text for text, _key in fragments.MANDATORY.get(category, []) if rng.random() > 0.1]
    target = _ad_size(rng)
    size = sum(len(part.encode("utf-8")) for part in (*parts, *mandatory))
    while size < target:
        part = _fill(rng.choice(PAGE_COPY), rng)
        parts.insert(rng.randint(1, len(parts)), part)
        size += len(part.encode("utf-8"))
    # The crawler checks AdItem.document(): the title, then the body, one per line.
    return title, "\n".join([title, *parts, *mandatory]), category


def build_corpus(megabytes: float, seed: int = 7) -> list[tuple[str, str, str]]:
    """``(title, text, category)`` ads until the texts reach ``megabytes`` UTF-8 megabytes."""
    rng = random.Random(seed)
    fragments = _devset_fragments()
    hand_written = [item.text for item in read_items(DEFAULT_DEVSET_DIR / "handwritten.jsonl")]
    corpus: list[tuple[str, str, str]] = []
    size, target = 0, int(megabytes * 1_000_000)
    while size < target:
        ad = _one_ad(fragments, hand_written, rng)
        corpus.append(ad)
        size += len(ad[1].encode("utf-8"))
    return corpus


def regex_baseline(terms: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True)))


def ac_baseline(terms: Sequence[str]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for term in terms:
        automaton.add_word(term, term)
    automaton.make_automaton()
    return automaton


def measure(
    contenders: dict[str, Callable[[], Callable[[], object]]], size_mb: float, repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median MB/s of each contender over ``repeat`` interleaved rounds, by CPU time and by wall time.

    A contender is called untimed before each round and returns the function to time.
    """
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(repeat):
        for name, prepare in contenders.items():
            func = prepare()
            start, start_cpu = time.perf_counter(), time.process_time()
            func()
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
            cpu[name].append(size_mb / cpu_seconds)
            wall[name].append(size_mb / seconds)
            print(
                f"  round {round_ + 1}: {name:<40} cpu {cpu_seconds:6.2f} s {size_mb / cpu_seconds:7.2f} MB/s"
                f"   wall {seconds:6.2f} s {size_mb / seconds:7.2f} MB/s",
                flush=True,
            )
    return (
        {name: statistics.median(values) for name, values in cpu.items()},
        {name: statistics.median(values) for name, values in wall.items()},
    )


def fresh_engine_over(
    ads: Sequence[tuple[str, str, tuple[str, ...]]], method: str = "check"
) -> Callable[[], Callable[[], None]]:
    """A contender that builds a new engine (untimed), then calls ``method`` on every ``(text, title, hints)``."""

    def prepare() -> Callable[[], None]:
        check = getattr(RuleEngine.from_directory().warm_up(), method)

        def run() -> None:
            for text, title, hints in ads:
                check(text, title=title, category_hints=hints)

        return run

    return prepare


def real_page_texts(folder: Path) -> list[str]:
    """The visible text of each saved page in ``folder``'s manifest, decoded as the crawler decodes it."""
    texts = []
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        raw = (folder / entry["file"]).read_bytes()
        root = lxml.html.fromstring(raw.decode(detect(raw), "replace"))
        for node in root.xpath("//script|//style|//noscript"):
            node.drop_tree()
        text = re.sub(r"\s*\n\s*", "\n", root.text_content()).strip()
        if text:
            texts.append(text)
    return texts


def compare_on_real_pages(folder: Path, pattern: re.Pattern[str], repeat: int) -> None:
    """Baseline (a) and the engine on the saved real pages, when they are at hand."""
    if not (folder / "manifest.jsonl").is_file():
        print(f"real pages: none at {folder} (set ADWATCH_REALWEB_DIR); skipped")
        return
    texts = real_page_texts(folder)
    size_mb = sum(len(text.encode("utf-8")) for text in texts) / 1_000_000

    def run_regex() -> None:
        for text in texts:
            pattern.findall(text)

    print(f"real pages: {len(texts)} saved pages, {size_mb:.2f} MB of visible text")
    names = ("(a) re alternation, real pages", "engine.check, real pages")
    engine = fresh_engine_over([(text, "", ()) for text in texts])
    cpu, _wall = measure({names[0]: lambda: run_regex, names[1]: engine}, size_mb, repeat)
    print(f" cpu: engine.check on real pages / (a) = {cpu[names[1]] / cpu[names[0]]:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="corpus size in UTF-8 megabytes (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per contender; medians are reported (default 3)")
    parser.add_argument(
        "--realweb",
        type=Path,
        default=Path(os.environ.get("ADWATCH_REALWEB_DIR") or REPO.parent / "shared" / "realweb"),
        help="folder of saved real pages with manifest.jsonl (default ../shared/realweb)",
    )
    args = parser.parse_args()
    engine = RuleEngine.from_directory()
    corpus = build_corpus(args.mb)
    texts = [text for _title, text, _category in corpus]
    sizes = sorted(len(text.encode("utf-8")) for text in texts)
    size_mb = sum(sizes) / 1_000_000
    terms = sorted(engine.terms)
    pattern, automaton = regex_baseline(terms), ac_baseline(terms)
    flagged = sum(1 for text in texts if engine.check(text).flagged)
    print(
        f"corpus: {len(texts)} ads, {size_mb:.1f} MB; ad size median {statistics.median(sizes) / 1000:.2f} KB "
        f"(p10 {sizes[len(sizes) // 10] / 1000:.2f}, p90 {sizes[9 * len(sizes) // 10] / 1000:.2f}); "
        f"{flagged / len(texts):.0%} flagged; {len(terms)} terms; {len(engine.rules)} rules; {Path(__file__).name}"
    )

    def run_regex() -> None:
        for text in texts:
            pattern.findall(text)

    def run_ac() -> None:
        for text in texts:
            list(automaton.iter(text))

    def run_normalize() -> None:
        for text in texts:
            normalize(text)

    names = {
        "a": "(a) re alternation of all terms",
        "b": "(b) bare pyahocorasick scan",
        "n": "normalisation only",
        "c": "engine.classify (no rule evaluated)",
        "e": "engine.check (no hint)",
        "h": "engine.check (title + category hint)",
    }
    funcs: dict[str, Callable[[], Callable[[], object]]] = {
        "a": lambda: run_regex,
        "b": lambda: run_ac,
        "n": lambda: run_normalize,
        "c": fresh_engine_over([(text, "", ()) for text in texts], "classify"),
        "e": fresh_engine_over([(text, "", ()) for text in texts]),
        "h": fresh_engine_over([(text, title, (category,)) for title, text, category in corpus]),
    }
    cpu, wall = measure({names[key]: funcs[key] for key in names}, size_mb, args.repeat)
    print(f"medians of {args.repeat} rounds (MB/s by process CPU time; wall-clock MB/s in brackets):")
    for name, rate in cpu.items():
        print(f"  {name:<40} {rate:8.2f} MB/s   [{wall[name]:7.2f}]")
    for label, medians in (("cpu", cpu), ("wall", wall)):
        regex_rate, ac_rate = medians[names["a"]], medians[names["b"]]
        for key in ("e", "h"):
            rate = medians[names[key]]
            print(
                f"{label:>4}: {names[key]:<40} / (a) = {rate / regex_rate:5.2f}x;"
                f"  / (b) = {rate / ac_rate:5.2f}x (target >= 0.6x)"
            )
        print(
            f"{label:>4}: {names['c']:<40} / (a) = {medians[names['c']] / regex_rate:5.2f}x"
            "  (what a check costs before any rule: its ceiling)"
        )
    compare_on_real_pages(args.realweb, pattern, args.repeat)


if __name__ == "__main__":
    main()
