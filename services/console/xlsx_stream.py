"""An Excel workbook of one sheet, written while it is sent.

openpyxl (and any writer that finishes the zip in a seekable file) can only hand the workbook
out once the last row is in, so a long list keeps the user waiting with nothing arriving. Here
the zip goes to a sink that cannot seek: :mod:`zipfile` then writes each entry's CRC and sizes
in a data descriptor after its data, and whatever the compressor has produced is handed on
after each batch of rows. Memory stays that of one batch and the compressor's window, however
long the list.

The sheet keeps to the parts Excel needs ([Content_Types].xml, the package and workbook
relationships, workbook.xml, styles.xml with a bold font for the header, sheet1.xml). Strings
are inline (``t="inlineStr"``), so no shared-strings table has to be held until the end, and
an inline string is never a formula, whatever it starts with.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

__all__ = ["cell", "column_letter", "sheet_name", "stream_workbook", "xml_text"]

CHUNK = 64 * 1024  # bytes handed on at a time, as the CSV export does
_BATCH = 32 * 1024  # characters of row XML given to the compressor at a time
MAX_CELL_CHARS = 32_767  # Excel refuses a longer cell
_MAX_EXACT_INT = 10**15  # Excel keeps 15 significant digits; a longer whole number goes as text
_EXCEL_EPOCH = datetime(1899, 12, 30)
_FIRST_TRUE_DAY = date(1900, 3, 1)  # before it Excel's 1900 leap-year bug shifts serials by one
_DEFAULT_SHEET = "Sheet1"

# XML 1.0 allows only tab, LF, CR and these ranges; anything else (C0 controls, lone
# surrogates, U+FFFE/U+FFFF) makes the part unreadable, so it becomes U+FFFD.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

# Cell styles in styles.xml's cellXfs, by position.
_BOLD, _DAY, _MOMENT, _CLOCK = 1, 2, 3, 4

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<bookViews><workbookView activeTab="0"/></bookViews>'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    "</Relationships>"
)
_FONT = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
_XF = 'fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    f'<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    f'<xf numFmtId="164" {_XF}/><xf numFmtId="165" {_XF}/><xf numFmtId="21" {_XF}/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
# The header row stays in view while scrolling.
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
    "</sheetView></sheetViews>"
    '<sheetFormatPr defaultRowHeight="15"/>'
    "<sheetData>"
)
_SHEET_TAIL = "</sheetData></worksheet>"


def xml_text(value: str) -> str:
    """``value`` safe as XML 1.0 character data or an attribute value.

    Characters XML 1.0 cannot carry at all are replaced by U+FFFD rather than refused, so one bad
    byte in a title never breaks a download; a CR is written as a reference so it is not read
    back as a line feed.
    """
    value = _NOT_XML.sub("\ufffd", value)
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
    )


def sheet_name(name: str) -> str:
    """A name Excel accepts for a sheet: at most 31 characters, none of ``[]:*?/\\``, not
    starting or ending with an apostrophe, not empty."""
    cleaned = _SHEET_FORBIDDEN.sub("_", _NOT_XML.sub("_", name))[:31].strip("'")
    return cleaned or _DEFAULT_SHEET


def column_letter(index: int) -> str:
    """The column letters of 0-based ``index`` (0 is A, 26 is AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _inline(ref: str, text: str, style: int = 0) -> str:
    text = text[:MAX_CELL_CHARS]
    space = ' xml:space="preserve"' if text != text.strip() else ""
    styled = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{xml_text(text)}</t></is></c>'


def _number(ref: str, number: str, style: int = 0) -> str:
    styled = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{styled}><v>{number}</v></c>'


def _serial(moment: datetime) -> str:
    delta = moment - _EXCEL_EPOCH
    return repr(delta.days + (delta.seconds + delta.microseconds / 1_000_000) / 86_400)


def cell(ref: str, value: Any) -> str:
    """The ``<c>`` element of ``value`` at ``ref``; empty for None or "".

    Numbers stay numbers and days and moments are date cells (formatted ``yyyy-mm-dd`` and
    ``yyyy-mm-dd hh:mm``); what Excel cannot hold exactly as a number (NaN, a whole number of
    more than 15 digits, a moment with a time zone, a day before March 1900) is written as its
    text instead, so nothing is shown changed.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return _inline(ref, value)
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return _number(ref, str(value)) if abs(value) < _MAX_EXACT_INT else _inline(ref, str(value))
    if isinstance(value, float):
        return _number(ref, repr(value)) if math.isfinite(value) else _inline(ref, str(value))
    if isinstance(value, Decimal):
        return _number(ref, str(value)) if value.is_finite() else _inline(ref, str(value))
    if isinstance(value, datetime):
        if value.tzinfo is not None or value.date() < _FIRST_TRUE_DAY:
            return _inline(ref, value.isoformat(sep=" "))
        return _number(ref, _serial(value), _MOMENT)
    if isinstance(value, date):
        if value < _FIRST_TRUE_DAY:
            return _inline(ref, value.isoformat())
        return _number(ref, str((value - _EXCEL_EPOCH.date()).days), _DAY)
    if isinstance(value, time):
        if value.tzinfo is not None:
            return _inline(ref, value.isoformat())
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1_000_000
        return _number(ref, repr(seconds / 86_400), _CLOCK)
    return _inline(ref, str(value))


class _Columns:
    """Column letters, worked out once per column."""

    def __init__(self) -> None:
        self._letters: list[str] = []

    def __getitem__(self, index: int) -> str:
        while len(self._letters) <= index:
            self._letters.append(column_letter(len(self._letters)))
        return self._letters[index]


def _row(number: int, values: Sequence[Any], columns: _Columns) -> str:
    cells = "".join(cell(f"{columns[i]}{number}", v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def _header(headers: Sequence[str], columns: _Columns) -> str:
    cells = "".join(_inline(f"{columns[i]}1", str(h), _BOLD) for i, h in enumerate(headers))
    return f'<row r="1">{cells}</row>'


class _Sink:
    """Where the zip is written: it cannot seek, which makes :mod:`zipfile` use data descriptors,
    and it holds the bytes only until they are taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the bytes wait for :meth:`take`."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=datetime.now().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def stream_workbook(
    sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk: int = CHUNK
) -> Iterator[bytes]:
    """The workbook as bytes, handed on as they are compressed: first the fixed parts, then
    about ``chunk`` bytes at a time while ``rows`` is read, one row at a time, to its end.

    ``headers`` is the bold first row; ``rows`` are cell values (see :func:`cell`).
    """
    sink = _Sink()
    columns = _Columns()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as book:
        fixed = {
            "[Content_Types].xml": _CONTENT_TYPES,
            "_rels/.rels": _PACKAGE_RELS,
            "xl/workbook.xml": _WORKBOOK.format(name=xml_text(sheet_name(sheet))),
            "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
            "xl/styles.xml": _STYLES,
        }
        for name, part in fixed.items():
            book.writestr(_entry(name), part.encode("utf-8"))
        with book.open(_entry("xl/worksheets/sheet1.xml"), "w") as data:
            data.write((_SHEET_HEAD + _header(headers, columns)).encode("utf-8"))
            yield sink.take()
            batch: list[str] = []
            size = 0
            for number, values in enumerate(rows, start=2):
                xml = _row(number, values, columns)
                batch.append(xml)
                size += len(xml)
                if size >= _BATCH:
                    data.write("".join(batch).encode("utf-8"))
                    batch.clear()
                    size = 0
                    if sink.size >= chunk:
                        yield sink.take()
            batch.append(_SHEET_TAIL)
            data.write("".join(batch).encode("utf-8"))
    yield sink.take()
