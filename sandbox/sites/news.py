"""滨江在线: a news portal with banner ads and advertorials (软文) among ordinary articles."""

from __future__ import annotations

import re
from typing import ClassVar

from sandbox.catalog import Ad, Article
from sandbox.sites.base import Handler, Query, Response, Site, h, link, pages, paragraphs, query_int

PAGE_SIZE = 8
BANNERS_PER_PAGE = 3


class NewsSite(Site):
    key = "news"
    nav: ClassVar[tuple[tuple[str, str], ...]] = (
        ("/channel/local", "本地新闻"),
        ("/channel/tech", "科技"),
        ("/channel/health", "健康生活"),
        ("/channel/finance", "财经"),
        ("/channel/culture", "文化"),
    )

    def routes(self) -> list[tuple[str, Handler]]:
        return [
            (r"/", self.home),
            (r"/channel/([a-z]+)", self.channel),
            (r"/article/(\d+)\.html", self.article),
            (r"/ad/(\d+)\.html", self.ad_page),
        ]

    def _stories(self) -> list[Ad | Article]:
        """Editorial articles and advertorials, newest (highest number) first."""
        stories: list[Ad | Article] = [*self.catalog.editorial, *self.catalog.for_site(self.key, "advertorial")]
        return sorted(stories, key=lambda s: s.path, reverse=True)

    def _banners(self, seed: int) -> str:
        banners = self.catalog.for_site(self.key, "banner")
        start = (seed * BANNERS_PER_PAGE) % len(banners)
        picks = [banners[(start + i) % len(banners)] for i in range(BANNERS_PER_PAGE)]
        return "".join(
            f'<div class="banner-ad"><a href="{ad.path}" target="_blank" rel="sponsored">'
            f'<img src="/img/b{ad.number}.jpg" alt="{h(ad.title)}"></a><span class="ad-mark">广告</span></div>'
            for ad in picks
        )

    def _story_list(self, stories: list[Ad | Article]) -> str:
        return '<ul class="news-list">' + "".join(f"<li>{link(s.path, s.title)}</li>" for s in stories) + "</ul>"

    def _with_sidebar(self, main: str, seed: int) -> str:
        return f'<div class="content-main">{main}</div><aside class="sidebar">{self._banners(seed)}</aside>'

    def home(self, match: re.Match[str], query: Query) -> Response:
        main = f"<h2>最新资讯</h2>{self._story_list(self._stories()[:12])}"
        # Every banner is linked from the home page so each landing page is reachable in one hop.
        every = "".join(
            self._banners(i) for i in range(-(-len(self.catalog.for_site(self.key, "banner")) // BANNERS_PER_PAGE))
        )
        return Response.html(self.layout("首页", self._with_sidebar(main, 0) + f'<div class="ad-wall">{every}</div>'))

    def channel(self, match: re.Match[str], query: Query) -> Response:
        slug = match[1]
        if slug not in self.catalog.news_channels:
            return self.not_found()
        stories = [s for s in self._stories() if _channel(s) == slug]
        page = query_int(query, "page")
        shown, last = pages(stories, page, PAGE_SIZE)
        if not shown:
            return self.not_found()
        pager = link(f"/channel/{slug}?page={page + 1}", "下一页", "next") if page < last else ""
        name = self.catalog.news_channels[slug]
        main = f'<h1>{h(name)}</h1>{self._story_list(shown)}<div class="pager">{pager}</div>'
        return Response.html(self.layout(name, self._with_sidebar(main, page)))

    def article(self, match: re.Match[str], query: Query) -> Response:
        path = f"/article/{match[1]}.html"
        story: Ad | Article | None = self.catalog.find(self.key, path)
        if story is None:
            story = next((a for a in self.catalog.editorial if a.path == path), None)
        if story is None:
            return self.not_found()
        number = int(match[1])
        if isinstance(story, Ad):
            source = story.seller
            mark = '<span class="ad-label">广告</span>' if story.labelled else ""
        else:
            source, mark = story.source, ""
        date = f"2025-11-{number % 28 + 1:02d}"
        main = f"""<article class="news-article">
<h1 class="article-title">{h(story.title)}</h1>
<div class="article-meta">{mark}<span class="source">来源：{h(source)}</span> <span class="time">{date}</span></div>
<div class="article-content">
{paragraphs(story.paragraphs)}
</div>
<p class="editor">责任编辑：林舒</p>
</article>"""
        channel = _channel(story)
        channel_link = link(f"/channel/{channel}", self.catalog.news_channels[channel])
        crumbs = f'<div class="crumbs">{link("/", "首页")} &gt; {channel_link}</div>'
        return Response.html(self.layout(story.title, self._with_sidebar(main, number), crumbs=crumbs))

    def ad_page(self, match: re.Match[str], query: Query) -> Response:
        ad = self.catalog.find(self.key, f"/ad/{match[1]}.html")
        if ad is None:
            return self.not_found()
        main = f"""<div class="ad-landing">
<span class="ad-label">广告</span>
<h1 class="ad-title">{h(ad.title)}</h1>
<p class="advertiser">广告主：<span class="advertiser-name">{h(ad.seller)}</span></p>
{self.gallery(ad)}
<div class="ad-content">
{paragraphs(ad.paragraphs)}
</div>
</div>"""
        return Response.html(self.layout(ad.title, main))


def _channel(story: Ad | Article) -> str:
    return story.extra["channel"] if isinstance(story, Ad) else story.channel
