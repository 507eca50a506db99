"""Downloads: the queue's current filter as CSV (a line per hit of its ads), and the monthly 专项行动情况统计表 as
.xlsx (openpyxl)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from dashboards.catalog import CATEGORY_NAMES
from dashboards.decisions import STATUS_LABELS
from dashboards.leads import Hit
from dashboards.queue import QueueFilter, filtered_leads
from dashboards.services import Services
from dashboards.stats import COLUMN_LABELS, COLUMNS, MonthlyFigures
from dashboards.web import BEIJING, SEVERITY_LABELS, beijing_time, rule_name
from indexer.documents import REVIEW_FIELDS

CSV_COLUMNS = (
    ("hit_id", "命中编号"), ("risk", "风险分"), ("site", "网站"), ("title", "标题"),
    ("seller", "广告主体（商家/店铺）"), ("category", "广告类别"), ("article", "违反条款"), ("rule_id", "规则"),
    ("rule_name", "规则名称"),
    ("severity", "严重程度"), ("matched", "命中原文"), ("review_status", "审核状态"), ("reviewer", "审核人"),
    ("review_reason", "理由"), ("fetched_at", "抓取时间（北京时间）"), ("url", "网址"),
)
CSV_LIMIT = 100_000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (crawled text is hostile)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _display(hit: dict[str, Any], key: str, names: dict[str, str]) -> Any:
    value = hit.get(key)
    if key == "reviewer":
        return names.get(value or "", value)
    if key == "review_status":
        return STATUS_LABELS.get(value, value)
    if key == "category":
        return CATEGORY_NAMES.get(value, value)
    if key == "severity":
        return SEVERITY_LABELS.get(value, value)
    if key == "fetched_at":
        return beijing_time(value)
    return value


def _csv_hit(hit: Hit) -> dict[str, Any]:
    """One hit as a CSV line: its rule, every word it matched, its review state."""
    return {**hit.first, **{key: hit.decided[key] for key in REVIEW_FIELDS}, "matched": "、".join(hit.matched),
            "rule_name": rule_name(hit.explanation)}


def queue_csv(services: Services, filters: QueueFilter, username: str) -> Iterator[str]:
    """Every hit of the filter's ads (up to CSV_LIMIT), riskiest ad first, as CSV with a BOM so Excel reads
    the Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([label for _, label in CSV_COLUMNS])
    names = services.accounts.display_names()
    hits = [hit for lead in filtered_leads(services, filters, username) for hit in lead.hits][:CSV_LIMIT]
    for hit in hits:
        row = _csv_hit(hit)
        writer.writerow([_cell(_display(row, key, names)) for key, _ in CSV_COLUMNS])
    yield "\ufeff" + buffer.getvalue()


_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _table(sheet: Any, row: int, heading: str, first_column: str, rows: dict[str, dict[str, int]],
           totals: dict[str, int]) -> int:
    """One cross table (name × COLUMNS) with a 合计 row; returns the next free row."""
    sheet.cell(row, 1, heading).font = _BOLD
    row += 1
    for column, label in enumerate((first_column, *(COLUMN_LABELS[c] for c in COLUMNS)), start=1):
        cell = sheet.cell(row, column, label)
        cell.font, cell.alignment, cell.border = _BOLD, _CENTER, _BOX
    for name, counts in [*rows.items(), ("合计（不重复）", totals)]:
        row += 1
        sheet.cell(row, 1, name).border = _BOX
        for column, key in enumerate(COLUMNS, start=2):
            cell = sheet.cell(row, column, counts[key])
            cell.border, cell.alignment = _BOX, _CENTER
        if name == "合计（不重复）":
            for column in range(1, len(COLUMNS) + 2):
                sheet.cell(row, column).font = _BOLD
    return row + 2


def _dispositions(sheet: Any, row: int, figures: MonthlyFigures) -> int:
    """五、处置情况: each kind recorded in the month, and the amounts where there are any; the next free row."""
    sheet.cell(row, 1, "五、处置情况").font = _BOLD
    for label, (count, amount) in figures.dispositions.items():
        row += 1
        lines = [(f"{label}（件）", count)] + ([(f"{label}金额（元）", round(amount, 2))] if amount is not None else [])
        for offset, (name, value) in enumerate(lines):
            sheet.cell(row + offset, 1, name).border = _BOX
            cell = sheet.cell(row + offset, 2, value)
            cell.border, cell.alignment = _BOX, _CENTER
        row += len(lines) - 1
    return row + 2


TRANSFER_COLUMNS = ("案件编号", "网站", "商家/店铺", "广告标题", "违反条款", "命中原文", "网址", "承办稽查人员",
                    "提请人", "批准人", "批准时间（北京时间）")


def _transfer_sheet(sheet: Any, services: Services, figures: MonthlyFigures) -> None:
    """The cases handed to the inspection corps in the month, one row each."""
    names = services.accounts.display_names()
    for column, label in enumerate(TRANSFER_COLUMNS, start=1):
        cell = sheet.cell(1, column, label)
        cell.font, cell.alignment, cell.border = _BOLD, _CENTER, _BOX
    for row, case in enumerate(figures.transfers, start=2):
        hit = services.backend.get_hit(case.hit_id) or {}
        values = (case.case_no, services.sites.titles.get(hit.get("site", ""), hit.get("site", "")),
                  hit.get("seller", ""), hit.get("title", ""), hit.get("article", ""), hit.get("matched", ""),
                  hit.get("url", ""), names.get(case.inspector, case.inspector),
                  names.get(case.requested_by, case.requested_by), names.get(case.approved_by or "", case.approved_by),
                  beijing_time(case.approved_at))
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, _cell(value)).border = _BOX
    for column in range(1, len(TRANSFER_COLUMNS) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 18


def report_due(month: str, due_day: int) -> str:
    """The sheet of ``month`` is due on ``due_day`` of the month after it: 2026-11 → 2026-12-28."""
    year, number = (int(part) for part in month.split("-"))
    year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return f"{year}-{number:02d}-{due_day:02d}"


def monthly_workbook(services: Services, figures: MonthlyFigures, prepared_by: str) -> bytes:
    """The sheet laid out for submission: header, overview, focus areas, ad categories, notes and signatures."""
    book = Workbook()
    sheet = book.active
    sheet.title = "专项行动情况统计表"
    year, month = figures.month.split("-")
    width = len(COLUMNS) + 1
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    title = sheet.cell(1, 1, f"网络市场监管专项行动情况统计表（{year}年{int(month)}月）")
    title.font, title.alignment = Font(bold=True, size=16), _CENTER
    now = datetime.now(BEIJING)
    due = report_due(figures.month, services.catalog.report_due_day)
    sheet.cell(2, 1, f"填报单位：{services.catalog.reporting_unit}")
    sheet.cell(2, 4, f"统计期间：{figures.day_from} 至 {figures.day_to}")
    sheet.cell(3, 1, f"填报日期：{now:%Y-%m-%d}")
    sheet.cell(3, 4, f"报送时限：{due} 前")
    row = 5
    sheet.cell(row, 1, "一、监测概况").font = _BOLD
    overview = (("监测网站数（个）", figures.sites), ("监测网页数（页次）", figures.pages),
                ("监测广告及商品信息数（条）", figures.ads), ("违法广告条数（条）", figures.flagged_ads),
                ("其他违法线索（条，侵权假冒、刷单炒信等）", figures.other_leads),
                ("涉及网站（个）", figures.flagged_sites), ("涉及广告主体（个）", figures.advertisers),
                ("命中（项）", figures.totals["hits"]), ("确认违法（条）", figures.totals["confirmed"]),
                ("排除（条）", figures.totals["dismissed"]), ("待审核（条）", figures.totals["pending"]),
                ("移送稽查案件数（件）", figures.cases))
    for label, value in overview:
        row += 1
        sheet.cell(row, 1, label).border = _BOX
        cell = sheet.cell(row, 2, value)
        cell.border, cell.alignment = _BOX, _CENTER
    row = _table(sheet, row + 2, "二、按专项行动重点领域", "重点领域", figures.by_focus, figures.totals)
    row = _table(sheet, row, "三、按广告类别", "广告类别", figures.by_category, figures.totals)
    row = _table(sheet, row, "四、按违反条款", "违反条款", figures.by_article, figures.totals)
    row = _dispositions(sheet, row, figures)
    notes = ("说明：1. 违法广告按发现（抓取）日期（北京时间）计入当月，一条广告只计一次；"
             "2. 命中指一条规则在一则广告中的违法之处（标题与正文同一规则计为一项）；"
             "3. 一条广告涉及多个领域、类别或条款的，在各行分别计入，合计不重复；4. “确认违法”含已移送稽查的广告；"
             "5. 移送稽查案件数按科（处）长批准移送日期计入当月；"
             "6. 数据由 AdWatch 网络广告监测系统生成。")
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    sheet.cell(row, 1, notes).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[row].height = 64
    sheet.cell(row + 2, 1, f"填报人：{prepared_by}")
    sheet.cell(row + 2, 4, "审核人（科/处长）：")
    sheet.column_dimensions["A"].width = 30
    for column in range(2, width + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 16
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    _transfer_sheet(book.create_sheet("移送案件明细"), services, figures)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
