"""Supervision statistics: the page, its JSON, its CSV and Excel exports and the printable report.

Every figure comes from :func:`services.statistics.figures.compute` and every file from
:mod:`services.statistics.export`, so the page, the downloads and ``lawlink report`` agree; this
module only decides *whose* figures a user may ask for and draws them.

Whose figures: the filters live in the query string (``period``, ``district``, ``agency``), but
the server, not the form, sets them for the roles whose scope is narrower than everything: an
agency officer's figures are always their own agency's and a district coordinator's their
district's. Asking for someone else's is refused (403, audited), never silently widened.
Referral figures come only to users whose ``case.view`` reaches every referral counted
(:func:`services.console.access.sees_referral_figures`); for everyone else ``compute`` is told
to leave the section out, so not even a zero reaches the page or a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from contracts.agencies import Agency, AgencyKind, AgencyLevel, agencies, get_agency, supervisor_of
from services.console import access, read
from services.console.access import Scope
from services.console.auth import CurrentUser
from services.console.stat_charts import Series as ChartSeries
from services.console.stat_charts import count_bars, rate_bars, trend_chart
from services.console.web import BadInput, Console, NotFound
from services.i18n import word
from services.statistics import export
from services.statistics.figures import compute, scope_agencies
from services.statistics.model import Period, PeriodKind, Point, Section, Statistics, Table, Unit, Value
from workflows.deadlines import SHANGHAI

PERMISSION = "statistics.view"
CITY = "rz-gov"
CHART_TOP = 15
"""A bar chart shows at most this many rows (the largest); the table beside it shows them all."""
FORM_FIELDS = ("kind", "month", "quarter", "year", "from", "to")
"""The filter form's period fields; a request carrying them is answered with a redirect to the
one canonical ``?period=`` form, so the address bar always holds a link to the same figures."""


@dataclass(frozen=True)
class Filters:
    """The figures asked for, after the user's scope has been applied."""

    period: Period
    district: str | None
    agency: str | None
    fixed_district: bool  # the user's scope decided the district (no picker)
    fixed_agency: bool  # the user's scope decided the agency (no picker)

    def query(self, **extra: str) -> str:
        """The query string of these filters (what the page's links and exports carry)."""
        pairs = {"period": self.period.key, "district": self.district or "", "agency": self.agency or ""}
        pairs.update(extra)
        return urlencode({k: v for k, v in pairs.items() if v})


@dataclass
class TableView:
    """One table of a section with the charts drawn from it."""

    table: Table
    html_id: str
    csv_href: str
    charts: list[tuple[str, str]] = field(default_factory=list)  # (caption, svg)
    shortened: bool = False


@dataclass
class SectionView:
    """One section ready for the template: its trend charts and its tables."""

    section: Section
    csv_href: str
    trends: list[str]
    tables: list[TableView]


def format_value(value: Value, unit: Unit) -> str:
    """A cell as the page and the report print it: the exports' own formatting
    (:func:`services.statistics.export.format_value`), with "—" where there is no figure."""
    return export.format_value(value, unit) or "—"


def period_from_form(params: dict[str, str]) -> str:
    """The ``period`` text of the filter form's fields (``kind`` and the field of that kind).

    Raises:
        BadInput: naming the field that is missing or of the wrong kind.
    """
    kind = params.get("kind", "").strip() or PeriodKind.MONTH.value
    if kind not in {k.value for k in PeriodKind}:
        raise BadInput(
            "kind",
            f"must be one of month, quarter, year, custom, got {kind!r}",
            "须为按月、按季、按年或自定义",
        )
    if kind == PeriodKind.CUSTOM:
        start, end = params.get("from", "").strip(), params.get("to", "").strip()
        for name, value in (("from", start), ("to", end)):
            if not value:
                raise BadInput(
                    name,
                    "a custom period needs both from and to (YYYY-MM-DD)",
                    "自定义期间须填写起始日期和截止日期（YYYY-MM-DD）",
                )
        return f"{start}..{end}"
    value = params.get(kind, "").strip()
    if not value:
        raise BadInput(kind, f"a {kind} period needs the {kind} field", "请选择期间")
    return value


def parse_period(text: str, today: datetime) -> Period:
    """The period of ``?period=``; none asked for means the current Shanghai month.

    Raises:
        BadInput: naming ``period`` (or the part of it that is wrong), as ``Period.parse`` says.
    """
    if not text.strip():
        local = today.astimezone(SHANGHAI)
        return Period.month(local.year, local.month)
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise BadInput(
            "period", str(exc), "期间格式无效（如 2026-11、2026-Q4、2026 或 2026-01-01..2026-03-31）"
        ) from None


def districts() -> list[Agency]:
    """The district governments a district filter may name (catalogue order)."""
    return [
        a for a in agencies().values() if a.kind is AgencyKind.GOVERNMENT and a.level is AgencyLevel.DISTRICT
    ]


def agencies_of(district: str | None) -> list[Agency]:
    """The agencies an agency filter may name within ``district`` (None: all in Rizhao)."""
    return [
        a
        for a in agencies().values()
        if a.level is not AgencyLevel.PROVINCE and (district is None or a.district == district)
    ]


def counted_agencies(filters: Filters) -> frozenset[str] | None:
    """Whose referrals the figures would count (the statistics' own scope rule)."""
    return scope_agencies(district=filters.district, agency=filters.agency)


def place_of(stats: Statistics, lang: str) -> str:
    """Who the report is about, as a report heading names it: the agency, else the district
    (日照市东港区), else the city (日照市), from the agency catalogue."""
    if stats.scope.agency:
        return (stats.scope.agency_zh if lang == "zh" else stats.scope.agency_en) or stats.scope.agency
    government = get_agency(stats.scope.district or CITY)
    if government is None:
        return stats.scope.district or ""
    if lang == "zh":
        return government.name_zh.removesuffix("人民政府")
    return government.name_en.removeprefix("People's Government of ")


def reporter_of(stats: Statistics) -> Agency | None:
    """The justice bureau that supervises the figures' territory and sends the report up."""
    return supervisor_of(stats.scope.agency or stats.scope.district or CITY, AgencyKind.JUSTICE)


def report_title(stats: Statistics, lang: str) -> str:
    """``日照市行政执法监督统计月报（2026年11月）`` (季报, 年报, 报告 for other periods)."""
    period = stats.period_zh if lang == "zh" else stats.period_en
    return word(f"report_{stats.period.kind.value}", lang).format(place=place_of(stats, lang), period=period)


def _label(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en


def _chart_rows(table: Table, key: str, lang: str) -> list[tuple[str, Value]]:
    return [(row.label(lang), row.values.get(key)) for row in table.rows]


def table_charts(table: Table, chart_id: str, lang: str) -> tuple[list[tuple[str, str]], bool]:
    """The charts drawn from a table: bars of its first count column and of its first rate
    column (per agency, per rule, per state), largest first, at most :data:`CHART_TOP` rows.

    Returns each chart's caption and SVG, and whether rows were left out of them.
    """
    charts: list[tuple[str, str]] = []
    shortened = False
    for unit in ("count", "rate"):
        column = next((c for c in table.columns[1:] if c.unit == unit), None)
        if column is None:
            continue
        rows = [(name, v) for name, v in _chart_rows(table, column.key, lang) if isinstance(v, int | float)]
        if not rows or not any(v for _, v in rows):
            continue
        rows.sort(key=lambda r: -float(r[1] or 0))
        shortened = shortened or len(rows) > CHART_TOP
        rows = rows[:CHART_TOP]
        caption = _label(column.zh, column.en, lang)
        title = f"{_label(table.zh, table.en, lang)} · {caption}"
        if unit == "count":
            svg = count_bars([(n, int(v or 0)) for n, v in rows], title=title, chart_id=f"{chart_id}-count")
        else:
            svg = rate_bars([(n, float(v or 0)) for n, v in rows], title=title, chart_id=f"{chart_id}-rate")
        if svg:
            charts.append((caption, svg))
    return charts, shortened


def month_axis(points: list[Point], lang: str) -> list[tuple[str, str]]:
    """Short month labels under a trend (``11月`` / ``Nov``) with the year below the first
    month and each January."""
    out = []
    for i, point in enumerate(points):
        year, month = point.month.split("-")
        main = f"{int(month)}月" if lang == "zh" else point.label_en.split(" ")[0]
        out.append((main, year if i == 0 or month == "01" else ""))
    return out


def section_trends(section: Section, lang: str) -> list[str]:
    """The section's monthly series as trend lines: one chart for its counts, one for its rates
    (two scales never share an axis)."""
    out = []
    for units, rate, key in ((("count",), False, "trend"), (("rate", "ratio"), True, "trend_rates")):
        series = [s for s in section.series if s.unit in units]
        if not series:
            continue
        months = [p.label_zh if lang == "zh" else p.label_en for p in series[0].points]
        chart = trend_chart(
            months,
            [ChartSeries(_label(s.zh, s.en, lang), [p.value for p in s.points]) for s in series],
            axis=month_axis(series[0].points, lang),
            title=f"{_label(section.zh, section.en, lang)} · {word(key, lang)}",
            chart_id=f"c-{section.key}-{key}",
            rate=rate,
        )
        if chart:
            out.append(chart)
    return out


def section_views(stats: Statistics, filters: Filters, lang: str) -> list[SectionView]:
    """Every section of ``stats`` with its charts and the links to its CSV files."""
    out = []
    for section in stats.sections:
        tables = []
        for table in section.tables:
            html_id = f"t-{section.key}-{table.key}"
            charts, shortened = table_charts(table, f"c-{section.key}-{table.key}", lang)
            tables.append(
                TableView(
                    table=table,
                    html_id=html_id,
                    csv_href=f"/statistics/export.csv?{filters.query(section=section.key, table=table.key)}",
                    charts=charts,
                    shortened=shortened,
                )
            )
        out.append(
            SectionView(
                section=section,
                csv_href=f"/statistics/export.csv?{filters.query(section=section.key)}",
                trends=section_trends(section, lang),
                tables=tables,
            )
        )
    return out


def _known(name: str, value: str, choices: list[Agency]) -> str | None:
    chosen = value.strip()
    if not chosen:
        return None
    if chosen not in {a.id for a in choices}:
        what = "district government" if name == "district" else "agency"
        raise BadInput(
            name,
            f"unknown {what} {chosen!r}",
            f"未知的{'区县' if name == 'district' else '机关'}：{chosen}",
        )
    return chosen


def _canonical(request: Request, path: str) -> Response | None:
    """The redirect from the filter form's fields to the ``?period=`` address, if asked."""
    params = dict(request.query_params)
    if not any(k in params for k in FORM_FIELDS):
        return None
    text = period_from_form(params)
    try:
        Period.parse(text)
    except ValueError as exc:
        raise BadInput(params.get("kind") or "period", str(exc), "期间无效，请检查所填日期或月份") from None
    query = {"period": text, "district": params.get("district", ""), "agency": params.get("agency", "")}
    return RedirectResponse(f"{path}?{urlencode({k: v for k, v in query.items() if v})}", status_code=303)


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


class _StatisticsRoutes:
    """The handlers of the statistics page, its JSON and its files, bound to one console."""

    def __init__(self, web: Console) -> None:
        self.web = web

    def scoped(
        self, request: Request, user: CurrentUser, district: str, agency: str, period: Period
    ) -> Filters:
        """The filters the user may have: their scope's district or agency where it is narrower
        than everything; another one asked for is refused (403, audited), unknown ids are bad
        input naming the field."""
        forbid = self.web.forbid
        chosen_district = _known("district", district, districts())
        chosen_agency = _known("agency", agency, agencies_of(None))
        if chosen_agency and chosen_district:
            found = get_agency(chosen_agency)
            if found is None or found.district != chosen_district:
                raise BadInput(
                    "agency",
                    f"{chosen_agency!r} is not in district {chosen_district!r}",
                    "所选机关不在所选区县内",
                )
        scope = access.scope_of(user, PERMISSION)
        own = get_agency(user.agency) if user.agency else None
        target = f"statistics/{period.key}"
        for name, value in (("district", chosen_district), ("agency", chosen_agency)):
            if value and not access.permits(user, PERMISSION, (value,)):
                raise forbid(request, user, PERMISSION, target, f"{name} {value} outside the role's scope")
        if scope is Scope.OWN_AGENCY:
            if own is None:
                raise forbid(request, user, PERMISSION, target, "no agency bound", access.NO_AGENCY_REFUSED)
            return Filters(period, None, own.id, fixed_district=True, fixed_agency=True)
        if scope is Scope.DISTRICT:
            if own is None:
                raise forbid(request, user, PERMISSION, target, "no agency bound", access.NO_AGENCY_REFUSED)
            if own.district is not None:
                return Filters(period, own.district, chosen_agency, fixed_district=True, fixed_agency=False)
        return Filters(period, chosen_district, chosen_agency, fixed_district=False, fixed_agency=False)

    def figures(self, request: Request, user: CurrentUser) -> tuple[Statistics, Filters]:
        """The figures the query string asks for, within the user's scope."""
        params = request.query_params
        period = parse_period(params.get("period", ""), datetime.now(UTC))
        filters = self.scoped(request, user, params.get("district", ""), params.get("agency", ""), period)
        with Session(self.web.engine) as session:
            try:
                stats = compute(
                    session,
                    filters.period,
                    district=filters.district,
                    agency=filters.agency,
                    include_referrals=access.sees_referral_figures(user, counted_agencies(filters)),
                    calendar=read.work_calendar(),
                )
            except ValueError as exc:
                text = str(exc)
                raise BadInput(
                    "agency" if text.startswith("agency") else "district", text, "所选机关或区县无效"
                ) from None
        return stats, filters

    def page_context(
        self, request: Request, user: CurrentUser, stats: Statistics, filters: Filters
    ) -> dict[str, Any]:
        """What the page and the report draw the figures with."""
        lang = self.web.lang_of(request, user)
        now = datetime.now(UTC).astimezone(SHANGHAI)
        return {
            "stats": stats,
            "filters": filters,
            "sections": section_views(stats, filters, lang),
            "fmt": format_value,
            "title": report_title(stats, lang),
            "place": place_of(stats, lang),
            "reporter": reporter_of(stats),
            "districts": districts(),
            "agency_choices": agencies_of(filters.district),
            "years": list(range(now.year, 2019, -1)),
            "chart_top": word("chart_top", lang).format(n=CHART_TOP),
            "xlsx_href": f"/statistics/export.xlsx?{filters.query()}",
            "report_href": f"/statistics/report?{filters.query()}",
            "page_href": f"/statistics?{filters.query()}",
        }

    def html(self, request: Request, template: str) -> Response:
        """The page or the report: the filter form's fields redirect to the ``?period=``
        address first, then the figures are drawn with ``template``."""
        user = self.web.guard(request, PERMISSION)
        redirect = _canonical(request, request.url.path)
        if redirect is not None:
            return redirect
        stats, filters = self.figures(request, user)
        return self.web.render(request, template, user, **self.page_context(request, user, stats, filters))

    def exported(self, request: Request, user: CurrentUser, stats: Statistics, what: str) -> None:
        """Audit a download: whose figures left the console, and in which file."""
        self.web.audit(
            request,
            action="statistics.export",
            outcome="ok",
            user=user,
            target=f"statistics/{stats.period.key}",
            detail=f"{what} district={stats.scope.district or '-'} agency={stats.scope.agency or '-'}",
        )

    def statistics_page(self, request: Request) -> Response:
        """The statistics page."""
        return self.html(request, "statistics.html")

    def statistics_report(self, request: Request) -> Response:
        """The printable report."""
        return self.html(request, "statistics_report.html")

    def api_statistics(self, request: Request) -> dict[str, Any]:
        """The figures as JSON."""
        user = self.web.guard(request, PERMISSION)
        stats, _ = self.figures(request, user)
        return stats.model_dump(mode="json")

    def export_xlsx(self, request: Request) -> Response:
        """Every section in one Excel workbook."""
        user = self.web.guard(request, PERMISSION)
        stats, _ = self.figures(request, user)
        body = export.to_xlsx(stats, lang=self.web.lang_of(request, user))
        self.exported(request, user, stats, "xlsx")
        return _attachment(body, export.XLSX_MEDIA_TYPE, export.export_filename(stats, "xlsx"))

    def export_csv(self, request: Request, section: str = "", table: str = "") -> Response:
        """One section, or one table of it, as CSV."""
        user = self.web.guard(request, PERMISSION)
        stats, _ = self.figures(request, user)
        if not section:
            raise BadInput(
                "section", f"name one of {', '.join(s.key for s in stats.sections)}", "请指定要导出的统计部分"
            )
        if not stats.has_section(section):
            raise NotFound(f"statistics section {section}", field="section", what_zh=f"统计部分 {section}")
        found = stats.section(section)
        lang = self.web.lang_of(request, user)
        stem = export.export_filename(stats, "csv").removesuffix(".csv")
        if not table:
            body = export.section_csv(found, lang=lang)
            name = f"{stem}-{section}.csv"
        else:
            tables = {t.key: t for t in found.tables} | {"figures": export.figures_table(found)}
            if table not in tables:
                raise NotFound(
                    f"table {table} of section {section}", field="table", what_zh=f"统计表 {table}"
                )
            body = export.table_csv(tables[table], lang=lang)
            name = f"{stem}-{section}-{table}.csv"
        self.exported(request, user, stats, f"csv {section}/{table or '*'}")
        return _attachment(body, export.CSV_MEDIA_TYPE, name)


def build_router(web: Console) -> APIRouter:
    """The statistics page, its JSON, exports and printable report."""
    routes = _StatisticsRoutes(web)
    router = APIRouter()
    router.add_api_route("/statistics", routes.statistics_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(
        "/statistics/report", routes.statistics_report, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route("/api/statistics", routes.api_statistics, methods=["GET"])
    router.add_api_route("/statistics/export.xlsx", routes.export_xlsx, methods=["GET"])
    router.add_api_route("/statistics/export.csv", routes.export_csv, methods=["GET"])
    return router
