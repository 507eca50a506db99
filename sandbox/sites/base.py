"""What every sandbox site shares: responses, routing, page layout and the common traps."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from html import escape
from typing import Any, ClassVar

from sandbox.catalog import Ad, Catalog

Query = dict[str, list[str]]
Handler = Callable[[re.Match[str], Query], "Response"]


@dataclass
class Response:
    """A complete HTTP response; ``content_type`` goes out verbatim."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"))

    @classmethod
    def encoded(cls, text: str, encoding: str, content_type: str) -> Response:
        """A page in a legacy encoding; characters it lacks become character references."""
        return cls(200, text.encode(encoding, errors="xmlcharrefreplace"), content_type)

    @classmethod
    def json(cls, data: Any) -> Response:
        return cls(200, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    @classmethod
    def redirect(cls, location: str, status: int = 301) -> Response:
        body = f'<html><body>已迁移至 <a href="{escape(location)}">{escape(location)}</a></body></html>'
        return cls(status, body.encode("utf-8"), headers={"Location": location})


def h(text: object) -> str:
    """HTML-escape ``text`` (quotes included)."""
    return escape(str(text), quote=True)


def link(href: str, text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f'<a href="{h(href)}"{attr}>{h(text)}</a>'


def paragraphs(texts: Iterable[str]) -> str:
    return "\n".join(f"<p>{h(t)}</p>" for t in texts)


def money(value: float, symbol: str = "¥", thousands: bool = False) -> str:
    return f"{symbol}{value:,.2f}" if thousands else f"{symbol}{value:.2f}"


def query_int(query: Query, name: str, default: int = 1) -> int:
    try:
        return max(1, int(query.get(name, [str(default)])[0]))
    except ValueError:
        return default


def pages(items: list[Ad], page: int, size: int) -> tuple[list[Ad], int]:
    """The ``page``-th slice of ``items`` and the number of pages."""
    last = max(1, -(-len(items) // size))
    return items[(page - 1) * size : page * size], last


class Site:
    """One sandbox site: a table of routes, a page layout and the traps every site has.

    Subclasses set ``key``, ``robots`` and ``nav`` and add routes in ``routes()``.
    """

    key: ClassVar[str]
    robots: ClassVar[str] = "User-agent: *\nDisallow: /admin/\n"
    nav: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, catalog: Catalog, slow_seconds: float = 3.0) -> None:
        self.catalog = catalog
        self.base_url = "/"  # set by the server once the port is known
        self.slow_seconds = slow_seconds
        self.name = catalog.site_names[self.key]
        self.slogan = catalog.site_slogans[self.key]
        common: list[tuple[str, Handler]] = [
            (r"/robots\.txt", lambda m, q: Response.text(self.robots)),
            (r"/about\.html", self.about),
            (r"/admin/.*", self.admin),
            (r"/cart/.*", self.admin),
            (r"/calendar/(\d{4})-(\d{2})", self.calendar),
            (r"/promo/slow\.html", self.slow),
            (r"/promo/flash-sale\.html", self.server_error),
        ]
        self._routes = [(re.compile(p), fn) for p, fn in [*self.routes(), *common]]

    def routes(self) -> list[tuple[str, Handler]]:
        raise NotImplementedError

    def handle(self, path: str, query: Query) -> Response:
        for pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match:
                return handler(match, query)
        return self.not_found()

    # --- layout -------------------------------------------------------------

    def layout(self, title: str, main: str, *, charset: str = "utf-8", crumbs: str = "") -> str:
        nav = " ".join(link(href, text) for href, text in self.nav)
        return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
{self._charset_meta(charset)}
<title>{h(title)} - {h(self.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body class="site-{self.key}">
<header class="site-header"><a class="logo" href="/">{h(self.name)}</a>
<span class="slogan">{h(self.slogan)}</span>
<nav class="main-nav">{nav}</nav></header>
{crumbs}
<main>
{main}
</main>
{self.footer()}
</body>
</html>
"""

    @staticmethod
    def _charset_meta(charset: str) -> str:
        if charset == "utf-8":
            return '<meta charset="utf-8">'
        return f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'

    def footer(self) -> str:
        return f"""<footer class="site-footer">
<p>{link("/about.html", "关于我们")} | {link("/admin/login", "商家后台")} | {link("/calendar/2026-11", "活动日历")}</p>
<p>© 2025 {h(self.name)} 版权所有 浙ICP备2025012345号-1</p>
</footer>"""

    # --- common pages and traps -------------------------------------------

    def not_found(self) -> Response:
        back = link("/", "返回首页")
        main = f'<div class="error-page"><h1>404 页面不存在</h1><p>您访问的页面已删除或不存在。{back}</p></div>'
        return Response.html(self.layout("页面不存在", main), 404)

    def server_error(self, match: re.Match[str] | None = None, query: Query | None = None) -> Response:
        body = "<html><head><title>500 Internal Server Error</title></head><body><h1>服务器内部错误</h1>"
        body += "<p>Internal Server Error: upstream timed out (PHP Fatal error in promo.php line 88)</p></body></html>"
        return Response.html(body, 500)

    def admin(self, match: re.Match[str], query: Query) -> Response:
        main = (
            '<form class="login" method="post"><h1>后台登录</h1>'
            '<input name="user"><input name="password" type="password"></form>'
        )
        return Response.html(self.layout("后台登录", main))

    def calendar(self, match: re.Match[str], query: Query) -> Response:
        """An endless calendar: every month links to the month before and after it."""
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            return self.not_found()
        prev = (year - 1, 12) if month == 1 else (year, month - 1)
        nxt = (year + 1, 1) if month == 12 else (year, month + 1)
        days = "".join(f"<li>{month}月{d}日：暂无活动</li>" for d in (1, 8, 15, 22))
        main = f"""<div class="calendar"><h1>{year}年{month}月 活动日历</h1>
<ul>{days}</ul>
<p>{link(f"/calendar/{prev[0]:04d}-{prev[1]:02d}", "« 上个月", "prev")}
{link(f"/calendar/{nxt[0]:04d}-{nxt[1]:02d}", "下个月 »", "next")}</p></div>"""
        return Response.html(self.layout(f"{year}年{month}月活动日历", main))

    def slow(self, match: re.Match[str], query: Query) -> Response:
        time.sleep(self.slow_seconds)
        main = '<div class="promo"><h1>限时特惠专场</h1><p>活动页面加载较慢，感谢耐心等待。</p></div>'
        return Response.html(self.layout("限时特惠专场", main))

    def about(self, match: re.Match[str], query: Query) -> Response:
        main = f'<div class="about"><h1>关于{h(self.name)}</h1><p>{h(self.slogan)}。客服电话：400-800-1234。</p></div>'
        return Response.html(self.layout("关于我们", main))

    def gallery(self, ad: Ad) -> str:
        imgs = "".join(
            f'<img src="/img/{ad.number}_{i}.jpg" alt="{h(alt)}" width="400" height="400">'
            for i, alt in enumerate(ad.image_alts, 1)
        )
        return f'<div class="gallery">{imgs}</div>'


class OwnShop(Site):
    """A shop outside the generated catalog: it brings its own ``own_name`` and ``own_slogan``, and its pages
    change with the date its ``clock`` tells (the server sets it from ``SandboxWeb(clock=…)``)."""

    own_name: ClassVar[str]
    own_slogan: ClassVar[str]
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /cart/\n"
    clock: Callable[[], date] = staticmethod(date.today)

    def __init__(self, catalog: Catalog, slow_seconds: float = 3.0) -> None:
        names = {**catalog.site_names, self.key: self.own_name}
        slogans = {**catalog.site_slogans, self.key: self.own_slogan}
        super().__init__(replace(catalog, site_names=names, site_slogans=slogans), slow_seconds)
