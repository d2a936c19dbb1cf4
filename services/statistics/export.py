"""CSV and Excel exports of a :class:`~services.statistics.model.Statistics` report.

Headers are Chinese by default (the report goes to a Chinese government), English on request.
The workbook has one sheet per section: the section's figures with their definitions, then
each table (header row, rows, total), then the monthly series side by side. Numbers stay numbers
(rates carry a percent format), so officials can sum and chart them in Excel; a missing figure
is an empty cell, never a 0.
"""

from __future__ import annotations

import csv
import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.statistics.model import Column, Row, Section, Statistics, Table, Unit, Value

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

# Excel refuses these in sheet titles and caps titles at 31 characters.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_NUMBER_FORMATS: dict[str, str] = {
    "rate": "0.0%",
    "ratio": "0.0%",
    "working_days": "0.0",
    "days": "0.0",
    "hours": "0.0",
}
_BOLD = Font(bold=True)
_FIGURE_HEADERS = {
    "zh": ("指标", "数值", "分子", "分母", "定义"),
    "en": ("Figure", "Value", "Numerator", "Denominator", "Definition"),
}
_MONTH = {"zh": "月份", "en": "Month"}
_TOTAL = {"zh": "合计", "en": "Total"}
_TREND = {"zh": "月度趋势", "en": "Monthly trend"}


def _lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise ValueError(f"lang: expected 'zh' or 'en', got {lang!r}")
    return lang


def format_value(value: Value, unit: Unit) -> str:
    """A value as a report prints it: ``87.5%`` for a rate, ``2.5`` for a median, "" for none."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if unit in ("rate", "ratio"):
        return f"{value * 100:.1f}%"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value))


def figures_table(section: Section) -> Table:
    """A section's figures as a table (key ``figures``): name, value, numerator, denominator and
    definition, the value already formatted (figures of one section have different units)."""
    columns = [
        Column(key="label", zh="指标", en="Figure", unit="text"),
        Column(key="value", zh="数值", en="Value", unit="text"),
        Column(key="numerator", zh="分子", en="Numerator", unit="count"),
        Column(key="denominator", zh="分母", en="Denominator", unit="count"),
        Column(key="definition", zh="定义", en="Definition", unit="text"),
    ]
    rows = [
        Row(
            key=f.key,
            label_zh=f.zh,
            label_en=f.en,
            values={
                "label": f.zh,
                "value": format_value(f.value, f.unit),
                "numerator": f.numerator,
                "denominator": f.denominator,
                "definition": f.definition_zh,
                "definition_en": f.definition_en,
            },
        )
        for f in section.figures
    ]
    return Table(
        key="figures", zh=f"{section.zh}主要指标", en=f"{section.en}: figures", columns=columns, rows=rows
    )


def _cells(table: Table, row: Row, lang: str) -> list[Value]:
    out: list[Value] = [row.label(lang)]
    for c in table.columns[1:]:
        value = row.values.get(c.key)
        if table.key == "figures" and c.key == "definition" and lang == "en":
            value = row.values.get("definition_en")
        out.append(value)
    return out


def table_csv(table: Table, lang: str = "zh") -> bytes:
    """One table as CSV: a header row of column names, the rows, then the total row.

    UTF-8 with a byte-order mark, which is what makes Excel open Chinese text correctly.
    """
    lang = _lang(lang)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    _write_csv_table(writer, table, lang)
    return out.getvalue().encode("utf-8-sig")


def _write_csv_table(writer: csv.writer, table: Table, lang: str) -> None:  # type: ignore[valid-type]
    writer.writerow([c.zh if lang == "zh" else c.en for c in table.columns])
    for row in [*table.rows, *([table.total] if table.total else [])]:
        cells = _cells(table, row, lang)
        writer.writerow(
            [cells[0], *(format_value(v, c.unit) for v, c in zip(cells[1:], table.columns[1:], strict=True))]
        )


def section_csv(section: Section, lang: str = "zh") -> bytes:
    """A section as one CSV file: its figures, then each table under its title, a blank line
    between blocks (UTF-8 with a byte-order mark)."""
    lang = _lang(lang)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for i, table in enumerate([figures_table(section), *section.tables]):
        if i:
            writer.writerow([])
        writer.writerow([table.zh if lang == "zh" else table.en])
        _write_csv_table(writer, table, lang)
    return out.getvalue().encode("utf-8-sig")


def sheet_title(section: Section) -> str:
    """The worksheet name of a section: its Chinese title, made safe for Excel (31 characters)."""
    return _SHEET_FORBIDDEN.sub("_", section.zh)[:31]


def to_xlsx(stats: Statistics, lang: str = "zh") -> bytes:
    """The whole report as an Excel workbook, one sheet per section.

    Each sheet: the report title; the figures block (header 指标/数值/分子/分母/定义, one row per
    figure, the value as a number); then per table its title row, its header row (column names),
    its rows and total, and an empty row; then the monthly series side by side.
    """
    lang = _lang(lang)
    wb = Workbook()
    wb.remove(wb.active)
    for section in stats.sections:
        ws = wb.create_sheet(
            sheet_title(section) if lang == "zh" else _SHEET_FORBIDDEN.sub("_", section.en)[:31]
        )
        title = (
            f"{stats.period_zh}{_scope_zh(stats)} {section.zh}"
            if lang == "zh"
            else f"{section.en}, {stats.period_en}{_scope_en(stats)}"
        )
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([])
        ws.append(list(_FIGURE_HEADERS[lang]))
        _bold_row(ws)
        for f in section.figures:
            ws.append(
                [
                    f.zh if lang == "zh" else f.en,
                    f.value,
                    f.numerator,
                    f.denominator,
                    f.definition_zh if lang == "zh" else f.definition_en,
                ]
            )
            _format_cell(ws.cell(row=ws.max_row, column=2), f.unit)
        ws.append([])
        for table in section.tables:
            ws.append([table.zh if lang == "zh" else table.en])
            ws.cell(row=ws.max_row, column=1).font = _BOLD
            ws.append([c.zh if lang == "zh" else c.en for c in table.columns])
            _bold_row(ws)
            for row in [*table.rows, *([table.total] if table.total else [])]:
                ws.append(_cells(table, row, lang))
                for i, c in enumerate(table.columns[1:], start=2):
                    _format_cell(ws.cell(row=ws.max_row, column=i), c.unit)
            ws.append([])
        if section.series:
            ws.append([_TREND[lang]])
            ws.cell(row=ws.max_row, column=1).font = _BOLD
            ws.append([_MONTH[lang], *(s.zh if lang == "zh" else s.en for s in section.series)])
            _bold_row(ws)
            for i, point in enumerate(section.series[0].points):
                ws.append(
                    [
                        point.label_zh if lang == "zh" else point.label_en,
                        *(s.points[i].value for s in section.series),
                    ]
                )
                for j, s in enumerate(section.series, start=2):
                    _format_cell(ws.cell(row=ws.max_row, column=j), s.unit)
        _widths(ws, section)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _scope_zh(stats: Statistics) -> str:
    parts = [p for p in (stats.scope.district_zh, stats.scope.agency_zh) if p]
    return f"（{'，'.join(parts)}）" if parts else ""


def _scope_en(stats: Statistics) -> str:
    parts = [p for p in (stats.scope.district_en, stats.scope.agency_en) if p]
    return f" ({', '.join(parts)})" if parts else ""


def _bold_row(ws: object) -> None:
    for cell in ws[ws.max_row]:  # type: ignore[index,attr-defined]
        cell.font = _BOLD


def _format_cell(cell: object, unit: Unit) -> None:
    fmt = _NUMBER_FORMATS.get(unit)
    if fmt and isinstance(getattr(cell, "value", None), int | float):
        cell.number_format = fmt  # type: ignore[attr-defined]


def _widths(ws: object, section: Section) -> None:
    """Wide enough label and definition columns to read without resizing."""
    ws.column_dimensions["A"].width = 34  # type: ignore[attr-defined]
    widest = max([len(section.tables[0].columns) if section.tables else 0, 5, len(section.series) + 1])
    for i in range(2, widest + 1):
        ws.column_dimensions[get_column_letter(i)].width = 16  # type: ignore[attr-defined]


def export_filename(stats: Statistics, ext: str) -> str:
    """An ASCII file name for the report (safe in a Content-Disposition header):
    ``lawlink-statistics-2026-11.xlsx``, with the district and agency when scoped."""
    parts = ["lawlink-statistics", stats.period.key.replace("..", "_to_")]
    parts += [p for p in (stats.scope.district, stats.scope.agency) if p]
    ext = ext.lstrip(".")
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"ext: expected a short lowercase extension such as 'xlsx', got {ext!r}")
    return "-".join(parts) + "." + ext
