"""滨江华康仁爱医院: a private hospital with departments, doctors, service pages and success stories."""

from __future__ import annotations

import re
from typing import ClassVar

from sandbox.catalog import Ad
from sandbox.sites.base import Handler, Query, Response, Site, h, link, money, pages, paragraphs, query_int

DEPARTMENTS = {
    "tijian": "体检中心",
    "kouqiang": "口腔科",
    "yanke": "眼科",
    "zhongyi": "中医科",
    "meirong": "医疗美容科",
    "fuchan": "妇产科",
    "pifu": "皮肤科",
}
CASES_PER_PAGE = 4


class HospitalSite(Site):
    key = "hospital"
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /member/\n"
    nav: ClassVar[tuple[tuple[str, str], ...]] = (
        ("/departments.html", "科室导航"),
        ("/doctors.html", "专家团队"),
        ("/cases.html", "成功案例"),
        ("/about.html", "医院概况"),
    )

    def routes(self) -> list[tuple[str, Handler]]:
        return [
            (r"/", self.home),
            (r"/departments\.html", self.departments),
            (r"/dept/([a-z]+)\.html", self.department),
            (r"/doctors\.html", self.doctors),
            (r"/cases\.html", self.cases),
            (r"/(project|doctor|case)/(\d+)\.html", self.detail),
            (r"/zhuanjia/(\d+)", lambda m, q: Response.redirect(f"/doctor/{m[1]}.html", 301)),
            (r"/member/.*", self.admin),
        ]

    def _list(self, ads: list[Ad]) -> str:
        return '<ul class="link-list">' + "".join(f"<li>{link(ad.path, ad.title)}</li>" for ad in ads) + "</ul>"

    def home(self, match: re.Match[str], query: Query) -> Response:
        depts = " ".join(link(f"/dept/{slug}.html", name) for slug, name in DEPARTMENTS.items())
        main = f"""<section class="banner"><p>{h(self.name)}，民营非营利性二级综合医院，医保定点单位。</p></section>
<section><h2>科室导航</h2><p>{depts}</p></section>
<section><h2>特色项目</h2>{self._list(self.catalog.for_site("hospital", "service")[:8])}</section>
<section><h2>专家团队</h2>{self._list(self.catalog.for_site("hospital", "doctor")[:4])}
<p>{link("/zhuanjia/301", "专家介绍（旧版）")} {link("/member/booking", "会员预约")}</p></section>
<section><h2>患者见证</h2>{self._list(self.catalog.for_site("hospital", "case")[:3])}</section>"""
        return Response.html(self.layout("首页", main))

    def departments(self, match: re.Match[str], query: Query) -> Response:
        rows = "".join(f"<li>{link(f'/dept/{slug}.html', name)}</li>" for slug, name in DEPARTMENTS.items())
        return Response.html(self.layout("科室导航", f'<h1>科室导航</h1><ul class="depts">{rows}</ul>'))

    def department(self, match: re.Match[str], query: Query) -> Response:
        name = DEPARTMENTS.get(match[1])
        if name is None:
            return self.not_found()
        ads = [ad for ad in self.catalog.for_site("hospital") if ad.extra["dept"] == name]
        main = f"""<h1>{h(name)}</h1>
<p>接诊时间：周一至周日 8:00—17:30。咨询电话：0571-8800 1234。</p>
<h2>诊疗项目与医师</h2>{self._list([ad for ad in ads if ad.kind != "case"])}
<h2>相关案例</h2>{self._list([ad for ad in ads if ad.kind == "case"])}"""
        return Response.html(self.layout(name, main))

    def doctors(self, match: re.Match[str], query: Query) -> Response:
        return Response.html(
            self.layout("专家团队", f"<h1>专家团队</h1>{self._list(self.catalog.for_site('hospital', 'doctor'))}")
        )

    def cases(self, match: re.Match[str], query: Query) -> Response:
        page = query_int(query, "page")
        shown, last = pages(self.catalog.for_site("hospital", "case"), page, CASES_PER_PAGE)
        if not shown:
            return self.not_found()
        pager = link(f"/cases.html?page={page + 1}", "下一页", "next") if page < last else ""
        main = f'<h1>成功案例</h1>{self._list(shown)}<div class="pager">{pager}</div>'
        return Response.html(self.layout("成功案例", main))

    def detail(self, match: re.Match[str], query: Query) -> Response:
        ad = self.catalog.find("hospital", f"/{match[1]}/{match[2]}.html")
        if ad is None:
            return self.not_found()
        fee = f'<span class="fee">{money(ad.prices[0])}</span>' if ad.prices else ""
        if len(ad.prices) > 1:
            fee += f' 原价<del class="fee">{money(ad.prices[1])}</del>'
        label = {"service": "项目价格", "doctor": "挂号费"}.get(ad.kind, "")
        main = f"""<article class="page-detail">
<h1 class="page-title">{h(ad.title)}</h1>
<div class="meta"><span class="hospital">{h(ad.seller)}</span> <span class="dept">{h(ad.extra["dept"])}</span>
{f'<span class="fee-label">{label}：</span>{fee}' if fee else ""}</div>
{self.gallery(ad)}
<div class="content">
{paragraphs(ad.paragraphs)}
</div>
<p class="booking">{link("/member/booking", "在线预约")} 咨询电话：0571-8800 1234</p>
</article>"""
        crumbs = f'<div class="crumbs">{link("/", "首页")} &gt; <span>{h(ad.extra["dept"])}</span></div>'
        return Response.html(self.layout(ad.title, main, crumbs=crumbs))
