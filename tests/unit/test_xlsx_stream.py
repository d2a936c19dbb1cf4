"""The streamed Excel export: openpyxl reads back what was written (Chinese headers in bold,
strings, numbers, empty cells, days and moments), the first bytes leave before the rows are
all read, memory does not grow with the list, a value XML cannot carry does not break the file,
and the case list's Excel download holds the same rows as its CSV download.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.console.lists import xlsx_stream
from services.console.xlsx_stream import MAX_CELL_CHARS, column_letter, sheet_name, stream_workbook
from tests.unit.test_console_lists import (  # noqa: F401  (env, oper: the console with 321 cases)
    CASES,
    ENV_AGENCY,
    agency_of,
    case_id,
    env,
    oper,
)

HEADERS = ("流程", "案件编号", "标题", "数量", "比例", "备注", "届满日期", "更新时间")


def sheet_of(data: bytes) -> Worksheet:
    book = load_workbook(io.BytesIO(data))
    assert len(book.worksheets) == 1
    return book.active


def case_rows(n: int, counter: list[int] | None = None) -> Iterator[list[Any]]:
    """``n`` rows like the case list's; ``counter[0]`` counts the rows handed out so far."""
    for i in range(n):
        if counter is not None:
            counter[0] += 1
        yield [
            "行刑衔接（案件移送）",
            f"LL-{i:06d}",
            f"某公司环境污染案{i}",
            i,
            i / 8,
            None if i % 2 else "已移送公安机关",
            date(2026, 1, 1 + i % 28),
            datetime(2026, 12, 3, i % 24, i % 60, 7),
        ]


def test_openpyxl_reads_chinese_headers_in_bold_and_each_kind_of_value() -> None:
    rows = [
        [
            "行刑衔接（案件移送）",
            "LL-0001",
            "某公司环境污染案",
            42,
            2.5,
            None,
            date(2026, 12, 3),
            datetime(2026, 12, 3, 14, 5, 7),
        ],
        ["管辖争议协调", "LL-0002", "", -7, 1e-5, "备注", None, datetime(2027, 1, 31, 23, 59, 59)],
    ]
    sheet = sheet_of(b"".join(xlsx_stream("案件列表", HEADERS, rows)))
    assert sheet.title == "案件列表"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == HEADERS
    assert values[1] == (
        "行刑衔接（案件移送）",
        "LL-0001",
        "某公司环境污染案",
        42,
        2.5,
        None,
        datetime(2026, 12, 3),
        datetime(2026, 12, 3, 14, 5, 7),
    )
    assert values[2] == (
        "管辖争议协调",
        "LL-0002",
        None,
        -7,
        1e-5,
        "备注",
        None,
        datetime(2027, 1, 31, 23, 59, 59),
    )
    assert len(values) == 3
    assert all(c.font.b for c in sheet[1]) and not any(c.font.b for c in sheet[2])
    assert sheet["G2"].number_format == "yyyy-mm-dd" and sheet["H2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet.freeze_panes == "A2"
    assert isinstance(sheet["D2"].value, int) and isinstance(sheet["E2"].value, float)


def test_other_values_keep_what_they_show() -> None:
    huge = 12345678901234567890
    aware = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    row = [True, False, Decimal("3.25"), float("nan"), huge, aware, date(1899, 1, 1), time(13, 30), object]
    values = list(sheet_of(b"".join(stream_workbook("s", [f"列{i}" for i in range(9)], [row]))).values)
    assert values[1][:3] == (True, False, 3.25)
    assert values[1][3:7] == ("nan", str(huge), "2026-12-03 08:00:00+00:00", "1899-01-01")
    assert values[1][7] == time(13, 30) and values[1][8] == str(object)


def test_wide_rows_land_in_their_columns() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 701, 702)] == ["A", "Z", "AA", "AZ", "ZZ", "AAA"]
    row = [None if i % 3 else f"第{i}列" for i in range(60)]
    sheet = sheet_of(b"".join(stream_workbook("宽表", ["甲"], [row])))
    assert sheet["A2"].value == "第0列" and sheet["BE2"].value is None and sheet["BF2"].value == "第57列"
    assert sheet.max_column == 58


def test_the_first_bytes_leave_before_the_rows_are_read() -> None:
    consumed = [0]
    seen_at: list[int] = []
    parts: list[bytes] = []
    for part in xlsx_stream("案件列表", HEADERS, case_rows(10_000, consumed)):
        seen_at.append(consumed[0])
        parts.append(part)
    assert consumed[0] == 10_000
    # The fixed parts leave before any row is read; the sheet's own rows leave in several
    # chunks while later rows are still unread.
    assert seen_at[0] == 0
    assert len([n for n in seen_at if 0 < n < 10_000]) >= 2, seen_at
    data = b"".join(parts)
    entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert {e.filename for e in entries} >= {"[Content_Types].xml", "xl/worksheets/sheet1.xml"}
    assert all(e.flag_bits & 0x08 for e in entries)  # sizes in data descriptors: written unseekable
    values = list(sheet_of(data).iter_rows(values_only=True))
    assert len(values) == 10_001 and values[-1][1] == "LL-009999" and values[-1][3] == 9999


def test_an_abandoned_download_stops_reading_rows() -> None:
    consumed = [0]
    stream = xlsx_stream("案件列表", HEADERS, case_rows(100_000, consumed))
    first, second = next(stream), next(stream)
    assert first.startswith(b"PK") and second
    stream.close()
    assert 0 < consumed[0] < 100_000


def _peak(n: int) -> int:
    tracemalloc.start()
    try:
        size = sum(len(part) for part in xlsx_stream("案件列表", HEADERS, case_rows(n)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size > n * 20  # the rows were written
    return peak


def test_memory_stays_flat_however_long_the_list() -> None:
    small, large = _peak(5_000), _peak(50_000)
    assert small > 0
    assert large < small * 1.5, (small, large)


def test_control_characters_and_markup_survive() -> None:
    nasty = "a\x00b\x08c\x0b\x1f<script>&amp;</script> \"'\ud800 d\te\r\nf "
    sheet = sheet_of(b"".join(xlsx_stream("案件\x01列表", ["标题\x07<&>"], [[nasty], ["  前后空格  "]])))
    assert sheet.title == "案件_列表"
    assert sheet["A1"].value == "标题\ufffd<&>"
    assert sheet["A2"].value == "a\ufffdb\ufffdc\ufffd\ufffd<script>&amp;</script> \"'\ufffd d\te\r\nf "
    assert sheet["A3"].value == "  前后空格  "


def test_a_cell_longer_than_excel_holds_is_cut_to_its_limit() -> None:
    sheet = sheet_of(b"".join(xlsx_stream("长", ["标题"], [["长" * (MAX_CELL_CHARS + 10)]])))
    assert sheet["A2"].value == "长" * MAX_CELL_CHARS


def test_sheet_names_excel_accepts() -> None:
    assert sheet_name("案件[列表]:2026/12*?\\") == "案件_列表__2026_12___"
    assert sheet_name("很长的名字" * 10) == ("很长的名字" * 10)[:31]
    assert sheet_name("'引号'") == "引号" and sheet_name("") == "Sheet1" and sheet_name("''") == "Sheet1"
    long_name = "统计:" * 20
    sheet = sheet_of(b"".join(xlsx_stream(long_name, ["甲"], [])))
    assert sheet.title == sheet_name(long_name) and len(sheet.title) == 31 and ":" not in sheet.title
    assert list(sheet.values) == [("甲",)]


def _shown(cell: Any) -> str:
    """A cell as Excel shows it with its format, which is how the CSV export writes it."""
    if cell.value is None:
        return ""
    if cell.is_date:
        return cell.value.strftime("%Y-%m-%d" if cell.number_format == "yyyy-mm-dd" else "%Y-%m-%d %H:%M")
    return str(cell.value)


def test_the_case_list_in_excel_has_the_rows_of_its_csv(oper: TestClient) -> None:  # noqa: F811
    query = f"/?agency={ENV_AGENCY}&sort=due&order=asc&page=2"
    as_csv = oper.get(f"{query}&format=csv")
    as_xlsx = oper.get(f"{query}&format=xlsx")
    assert as_csv.status_code == as_xlsx.status_code == 200
    assert as_xlsx.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in as_xlsx.headers["content-disposition"]
    csv_rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8").removeprefix("\ufeff"))))
    sheet = sheet_of(as_xlsx.content)
    assert sheet.title == "案件列表" and all(c.font.b for c in sheet[1])
    xlsx_rows = [[_shown(c) for c in row] for row in sheet.iter_rows()]
    expected = [case_id(i) for i in range(1, CASES + 1) if agency_of(i) == ENV_AGENCY]
    assert [r[1] for r in xlsx_rows[1:]] == expected  # every page, in the order asked
    assert xlsx_rows == csv_rows
    # Days and moments are date cells, not text that only looks like one.
    assert sheet["H2"].is_date and sheet["I2"].is_date and isinstance(sheet["B2"].value, str)
