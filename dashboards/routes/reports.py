"""The section chief's reports: the monthly 专项行动情况统计表 and the rule-quality page."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from dashboards.exports import monthly_workbook
from dashboards.stats import COLUMN_LABELS, monthly_figures
from dashboards.web import BEIJING, attachment, render, require, services

router = APIRouter()
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(request: Request) -> str:
    month = request.query_params.get("month") or f"{datetime.now(BEIJING):%Y-%m}"
    if not MONTH.fullmatch(month):  # ``$`` would admit a trailing newline into the download's file name
        raise HTTPException(400, "月份格式应为 YYYY-MM month must be YYYY-MM")
    return month


@router.get("/reports")
async def reports(request: Request) -> Response:
    require(request, "report")
    console = services(request)
    month = _month(request)
    return render(request, "reports.html", month=month, figures=monthly_figures(console, month),
                  due_day=console.catalog.report_due_day, COLUMN_LABELS=COLUMN_LABELS)


@router.get("/reports/monthly.xlsx")
async def monthly_sheet(request: Request) -> Response:
    session = require(request, "report")
    console = services(request)
    month = _month(request)
    data = monthly_workbook(console, monthly_figures(console, month), session.user.display_name)
    console.db.audit(session.user.username, "report.monthly", month)
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": attachment(f"专项行动情况统计表-{month}.xlsx")})


@router.get("/rules/quality")
async def rule_quality(request: Request) -> Response:
    require(request, "report")
    console = services(request)
    return render(request, "rule_quality.html", rules=console.workflow.rule_quality(),
                  reasons=console.catalog.dismiss_reasons)
