"""The one shape of a refusal a person corrects: the field, and why, in English and Chinese."""

from __future__ import annotations


class FieldRefusal(Exception):
    """Something a user must correct before the action can go ahead: ``field`` names it,
    ``reason`` says why in English and ``reason_zh`` in Chinese where the raiser knows it.

    Each kind says in :meth:`chinese_fallback` what a zh-CN page shows when the raiser gave no
    Chinese, so such a page never shows English."""

    def __init__(self, field: str, reason: str, reason_zh: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.reason_zh = reason_zh

    def chinese_fallback(self) -> str:
        """What a zh-CN page says when the raiser gave no Chinese."""
        return "取值无效，请检查后重试"

    def text(self, lang: str) -> str:
        """The reason in ``lang`` (``zh`` or ``en``)."""
        if lang != "zh":
            return self.reason
        return self.reason_zh or self.chinese_fallback()
