"""What every console list shares: its query parameters (read from the URL, so a view can be
bookmarked and sent on), the page of rows with its total, the pager's and sort headers' links,
and the streamed CSV and Excel exports.

A parameter the console cannot use is refused with :class:`services.console.web.BadInput`
naming it, in Chinese and English, never a 500; the lists' own words are in :data:`LIST_WORDS`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from services.console.paging import Page, Paging, day_end, day_start
from services.console.web import BadInput
from services.console.xlsx_stream import stream_workbook
from services.i18n import word
from services.statistics.export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

T = TypeVar("T")

PER_PAGE_CHOICES: tuple[int, ...] = (20, 50, 100, 200)
DEFAULT_PER_PAGE = 50
MAX_PAGE = 1_000_000
EXPORT_FORMATS = ("csv", "xlsx")
__all__ = ["CSV_MEDIA_TYPE", "XLSX_MEDIA_TYPE", "Page", "Paging", "day_end", "day_start"]

LIST_WORDS: dict[str, tuple[str, str]] = {
    "total_pages": ("共 {total} {unit}，第 {page}/{pages} 页", "{total} {unit}, page {page} of {pages}"),
    "unit_cases": ("件", "cases"),
    "unit_items": ("条", "items"),
    "unit_disputes": ("件", "disputes"),
    "prev_page": ("上一页", "Previous"),
    "next_page": ("下一页", "Next"),
    "page_n": ("第 {n} 页", "Page {n}"),
    "pager": ("分页", "Pages"),
    "per_page": ("每页条数", "Per page"),
    "search_text": ("搜索（案件编号、标题、文号、当事机关）", "Search (case id, title, document no., party)"),
    "due_after": ("届满日期不早于", "Due on or after"),
    "due_before": ("届满日期不晚于", "Due on or before"),
    "next_due": ("下一届满", "Next due"),
    "sort_by": ("按此列排序", "Sort by this column"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_xlsx": ("导出 Excel", "Export Excel"),
    "clear_filters": ("清除筛选", "Clear filters"),
    "mark_selected_read": ("所选标为已读", "Mark selected read"),
    "select_row": ("选择此条通知", "Select this notification"),
    "action": ("操作类型", "Action"),
    "pending_only": ("仅未重投", "not replayed only"),
    "view_all": ("全部", "All"),
    "view_mine": ("我认领的", "Mine"),
    "view_unclaimed": ("未认领", "Unclaimed"),
    "inbox_views": ("收件箱视图", "Inbox views"),
    "row_actions": ("操作", "Actions"),
}


def list_word(key: str, lang: str) -> str:
    """A list's word in ``lang``; the console's own words (``i18n.WORDS``) for the rest, so a word
    both use is written once (an unknown key raises, so a typo fails a test)."""
    if key not in LIST_WORDS:
        return word(key, lang)
    zh, en = LIST_WORDS[key]
    return zh if lang == "zh" else en


def list_translator(lang: str) -> Callable[..., str]:
    """``lt(key, **values)`` for templates."""
    return lambda key, **values: list_word(key, lang).format(**values)


def bad(name: str, zh: str, en: str) -> BadInput:
    """A refused query parameter, naming it, with the reason in English and Chinese."""
    return BadInput(name, en, reason_zh=zh)


def text(params: Mapping[str, str], name: str, max_length: int = 100) -> str:
    """A free-text parameter, trimmed; too long is refused."""
    value = (params.get(name) or "").strip()
    if len(value) > max_length:
        raise bad(name, f"最多 {max_length} 个字符", f"at most {max_length} characters")
    return value


def choice(params: Mapping[str, str], name: str, allowed: Iterable[str], default: str = "") -> str:
    """A parameter that must be one of ``allowed`` (empty: ``default``)."""
    value = (params.get(name) or "").strip()
    if not value:
        return default
    options = list(allowed)
    if value not in options:
        shown = "、".join(options[:12]) + ("…" if len(options) > 12 else "")
        raise bad(name, f"无效取值 {value!r}，可选：{shown}", f"unknown value {value!r}; one of {shown}")
    return value


def flag(params: Mapping[str, str], name: str) -> bool:
    """A checkbox: on for ``1``, ``true``, ``on``, ``yes``; off when absent or ``0``/``false``."""
    value = (params.get(name) or "").strip().lower()
    if value in ("", "0", "false", "off", "no"):
        return False
    if value in ("1", "true", "on", "yes"):
        return True
    raise bad(name, f"应为 true 或 false，收到 {value!r}", f"expected true or false, got {value!r}")


def number(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole number between ``low`` and ``high``."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, f"应为整数，收到 {raw!r}", f"expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise bad(
            name, f"应在 {low} 至 {high} 之间，收到 {value}", f"must be between {low} and {high}, got {value}"
        )
    return value


def day(params: Mapping[str, str], name: str) -> date | None:
    """A calendar day ``YYYY-MM-DD`` (Shanghai), or None when absent."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise bad(
            name, f"日期格式应为 YYYY-MM-DD，收到 {raw!r}", f"expected a date YYYY-MM-DD, got {raw!r}"
        ) from None


def paging(
    params: Mapping[str, str],
    *,
    sorts: Sequence[str],
    default_sort: str,
    default_order: str = "desc",
    prefix: str = "",
    per_page: int = DEFAULT_PER_PAGE,
) -> Paging:
    """Page, page length, sort column and order; ``prefix`` tells apart two lists on one page."""
    return Paging(
        page=number(params, f"{prefix}page", 1, 1, MAX_PAGE),
        per_page=int(choice(params, f"{prefix}per_page", [str(n) for n in PER_PAGE_CHOICES], str(per_page))),
        sort=choice(params, f"{prefix}sort", sorts, default_sort),
        order=choice(params, f"{prefix}order", ("asc", "desc"), default_order),
    )


@dataclass(frozen=True)
class Links:
    """Links of a list that keep every other parameter of the current URL."""

    path: str
    params: Mapping[str, str]
    paging: Paging
    prefix: str = ""
    defaults: dict[str, str] = field(default_factory=dict)

    def url(self, **changes: Any) -> str:
        """This list with ``changes`` (None or "" drops a parameter)."""
        merged = {k: v for k, v in self.params.items() if v not in ("", None)}
        for key, value in changes.items():
            if value in (None, ""):
                merged.pop(key, None)
            else:
                merged[key] = str(value)
        query = urlencode(merged)
        return f"{self.path}?{query}" if query else self.path

    def page(self, n: int) -> str:
        """The link of page ``n``."""
        return self.url(**{f"{self.prefix}page": None if n == 1 else n})

    def sort(self, key: str) -> str:
        """The link a column header carries: by ``key``, or the other way round if already so."""
        order = "asc" if self.paging.sort == key and self.paging.order == "desc" else "desc"
        if self.paging.sort != key and key in self.defaults:
            order = self.defaults[key]
        return self.url(
            **{f"{self.prefix}sort": key, f"{self.prefix}order": order, f"{self.prefix}page": None}
        )

    def arrow(self, key: str) -> str:
        """▲/▼ beside the column the list is sorted by."""
        if self.paging.sort != key:
            return ""
        return "▲" if self.paging.order == "asc" else "▼"

    def export(self, fmt: str) -> str:
        """The export of the whole filtered list in ``fmt`` (no paging)."""
        return self.url(format=fmt, **{f"{self.prefix}page": None, f"{self.prefix}per_page": None})


def links(path: str, params: Mapping[str, str], pg: Paging, *, prefix: str = "", **defaults: str) -> Links:
    """The links of a list at ``path`` whose current query is ``params``."""
    return Links(path, dict(params), pg, prefix, dict(defaults))


# ----- exports ---------------------------------------------------------------------------------

_CHUNK = 64 * 1024


def csv_stream(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """CSV in UTF-8 with a byte-order mark (so Excel reads the Chinese), yielded as it is written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        if buffer.tell() >= _CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_stream(sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """An Excel workbook of one sheet with a bold header row, yielded while ``rows`` is read, so
    the download starts at once and memory stays flat however long the list."""
    return stream_workbook(sheet, headers, rows)


def attachment_headers(filename: str) -> dict[str, str]:
    """Content-Disposition for a download with a non-ASCII-safe name."""
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
