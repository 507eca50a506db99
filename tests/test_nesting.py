"""crawler.nesting: a page nested too deep or with a stray </html> loses no text (#19); others are left alone."""

from __future__ import annotations

import pytest
from parsel import Selector

from crawler.nesting import KEPT_DEPTH, KEPT_HEIGHT, flatten, repair_deep_nesting, repair_stray_end_tags, too_deep

AD = "<p>正品保障，全网最低价</p>"


def nested(depth: int, open_tag: str = "<div>", close_tag: str = "</div>", inner: str = "最深处") -> str:
    return f"<html><body>{open_tag * depth}{inner}{close_tag * depth}{AD}</body></html>"


def body_text(html: str) -> str:
    return "".join(Selector(text=html).xpath("//body//text()").getall())


def test_lxml_loses_the_rest_of_a_page_nested_3000_deep() -> None:
    """The failure this module exists for: parsel (huge_tree on) keeps nothing from depth 2,048 on."""
    page = nested(3000)
    assert too_deep(page)
    assert Selector(text=page).css("p::text").getall() == []


def test_a_page_nested_3000_deep_keeps_all_its_text_in_order() -> None:
    page = nested(3000)
    repaired, removed = repair_deep_nesting(page)
    # <html> and <body> are two of the top levels kept; the innermost KEPT_HEIGHT <div> are kept too.
    assert removed == 2 * (3000 - (KEPT_DEPTH - 2) - KEPT_HEIGHT)
    assert not too_deep(repaired)
    assert body_text(repaired) == "最深处正品保障，全网最低价"
    assert Selector(text=repaired).css("p::text").get() == "正品保障，全网最低价"


def test_nesting_through_elements_that_close_themselves_is_repaired_too() -> None:
    """<li><ul><li>… nests for real: the second pass counts <li> as well."""
    page = nested(3000, "<li><ul>", "</ul></li>")
    repaired, removed = repair_deep_nesting(page)
    assert removed > 0
    assert not too_deep(repaired)
    assert body_text(repaired).endswith("最深处正品保障，全网最低价")


def test_a_page_lxml_can_hold_is_left_alone() -> None:
    """2,000 deep, or a list of 5,000 unclosed <li>, parse whole: nothing is touched."""
    for page in (nested(2000), "<ul>" + "<li>第一条" * 5000 + "</ul>" + AD):
        assert repair_deep_nesting(page) == (page, 0)


def test_tags_in_scripts_comments_and_self_closed_tags_do_not_count() -> None:
    script, comment = f"<script>var s = '{'<div>' * 50}';</script>", f"<!--{'<div>' * 50}-->"
    page = script + comment + "<div/><br><img src=x><div>x</div>"
    assert flatten(page, kept_depth=1, kept_height=1) == (page, 0)


def test_flatten_removes_the_deep_wrappers_and_keeps_what_they_wrap() -> None:
    page = "<div><i><b><s><u><h1>标题</h1><a href=/x>链接</a></u></s></b></i></div><p>尾"
    assert flatten(page, kept_depth=1, kept_height=1) == ("<div><h1>标题</h1><a href=/x>链接</a></div><p>尾", 8)


def test_an_unclosed_element_is_closed_by_its_parents_closing_tag() -> None:
    page = "<div><span><b>粗体</div><div><span><i>斜体</i></span></div>"
    assert flatten(page, kept_depth=0, kept_height=1) == ("<b>粗体<i>斜体</i>", 7)


def test_a_stray_html_end_tag_hides_what_follows_from_selectors() -> None:
    """The failure repair_stray_end_tags exists for: libxml2 puts the rest after the root element."""
    page = '<html><body><p>页首</p></body></html><div class="ad"><h1>限时特价</h1></div></body></html>'
    assert Selector(text=page).css(".ad h1::text").getall() == []


def test_a_stray_html_end_tag_goes_and_what_follows_is_in_the_body() -> None:
    page = '<html><body><p>页首</p></body></html>\n<div class="ad"><h1>限时特价</h1></div></body></html>\n'
    repaired, removed = repair_stray_end_tags(page)
    assert removed == 4
    assert Selector(text=repaired).css(".ad h1::text").getall() == ["限时特价"]
    assert body_text(repaired) == "页首\n限时特价"


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><p>广告</p></body></html>\n",
        "<html><body><p>广告</p></body>\n</HTML >\n</html>",
        "<html><body><p>广告</p><script>w('</html><p>x')</script></body></html>",
        "<html><body><!-- </html> --><p>广告</p></body></html>",
    ],
    ids=["ends-with-it", "end-tags-only-after-it", "in-a-script", "in-a-comment"],
)
def test_an_html_end_tag_at_the_end_or_in_text_is_left_alone(page: str) -> None:
    assert repair_stray_end_tags(page) == (page, 0)
