"""The one definition of every supervision figure, and :func:`compute`, which evaluates them.

Each figure is a :class:`Definition` here (its name, unit and the sentence saying which events
count, what the numerator and the denominator are) and one piece of code in this module that
counts exactly that. The console page, the CSV/Excel exports and ``lawlink report`` all call
:func:`compute`; the README's "Supervision statistics" section is :func:`definitions_markdown`
(a test keeps the two equal).

What a figure counts comes from the read model only: timeline entries (one per domain event,
dated when the step happened, not when Lawlink heard of it), deadline rows (which keep every
breach, even after the step was done late) and the delegated-item rows. A period is whole
Shanghai days; an event belongs to the period its ``occurred_at`` falls in, a deadline to the
period its due date falls in, a step that met a deadline to the period it was done in.

The monthly series, and the counts of a period made of whole months, are read from the monthly
counts the registry keeps of those same rows (:mod:`services.statistics.aggregate`); a period
of other days counts the rows themselves. Medians, working days and a case's current state are
always read from the rows.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, literal, null
from sqlmodel import Session, col, select

from contracts.agencies import AgencyKind, AgencyLevel, agencies, get_agency
from contracts.jurisdiction_dispute import PROCESS as DISPUTE_PROCESS
from services.delegations.read_model import DelegatedItem
from services.i18n import ITEM_STATE_LABELS, agency_label, state_label
from services.statistics import aggregate as agg
from services.statistics import queries as q
from services.statistics.model import (
    Column,
    Figure,
    Period,
    Point,
    Row,
    Scope,
    Section,
    Series,
    Statistics,
    Table,
    Unit,
    Value,
    month_key,
    month_labels,
    shanghai_midnight,
)
from workflows import deadlines as dl

CASE_TRANSFER = "case_transfer"
DEADLINES = "deadlines"
DISPUTES = "disputes"
REFERRALS = "referrals"
DELEGATIONS = "delegations"
SECTION_KEYS: tuple[str, ...] = (CASE_TRANSFER, DEADLINES, DISPUTES, REFERRALS, DELEGATIONS)
"""Sections in report order; ``referrals`` only when the reader may know referrals exist."""

TREND_MONTHS = 12


@dataclass(frozen=True)
class Definition:
    """What a figure is: its names, its unit and which events it counts."""

    key: str
    zh: str
    en: str
    unit: Unit
    definition_zh: str
    definition_en: str


SECTION_TITLES: dict[str, tuple[str, str]] = {
    CASE_TRANSFER: ("行刑衔接", "Administrative-to-criminal case transfer"),
    DEADLINES: ("办理时限", "Statutory deadlines"),
    DISPUTES: ("管辖争议", "Jurisdiction disputes"),
    REFERRALS: ("问题线索移送纪检监察机关", "Referrals to discipline inspection"),
    DELEGATIONS: ("赋权乡镇街道", "Powers delegated to townships"),
}


def _d(key: str, zh: str, en: str, unit: Unit, definition_zh: str, definition_en: str) -> Definition:
    return Definition(key, zh, en, unit, definition_zh, definition_en)


_IN = "期间内"
# fmt: off
DEFINITIONS: dict[str, tuple[Definition, ...]] = {
    CASE_TRANSFER: (
        _d("crimes_suspected", "发现涉嫌犯罪案件", "Suspected crimes found", "count",
           f"{_IN}行政执法机关报告发现涉嫌犯罪（case_transfer.crime_suspected）的案件数。",
           "Cases whose agency reported a suspected crime (case_transfer.crime_suspected) in the period."),
        _d("head_approved", "负责人批准移送", "Transfers approved by the head", "count",
           f"{_IN}负责人批准移送（case_transfer.transfer_approved）的案件数。",
           "Cases whose head approved the transfer (case_transfer.transfer_approved) in the period."),
        _d("head_refused", "负责人不批准移送", "Transfers refused by the head", "count",
           f"{_IN}负责人不批准移送（case_transfer.transfer_refused_by_head）的案件数。",
           "Cases whose head refused the transfer (case_transfer.transfer_refused_by_head) in the period."),
        _d("transfers", "移送公安机关", "Transferred to the police", "count",
           f"{_IN}向公安机关移送（case_transfer.transferred）的案件数。",
           "Cases transferred to the police (case_transfer.transferred) in the period."),
        _d("transfer_within_24h_rate", "批准后24小时内移送率", "Transferred within 24 h of approval", "rate",
           f"分子：{_IN}完成移送且未超过“批准后24小时内移送”时限的案件数；"
           "分母：期间内完成移送、有该时限的案件数（按移送时间归属期间）。",
           "Numerator: transfers done in the period without breaching the 24-hour limit after approval; "
           "denominator: transfers done in the period that had that limit (counted by when transferred)."),
        _d("police_filed", "公安机关立案", "Filed by the police", "count",
           f"{_IN}公安机关立案（case_transfer.case_filed，含复议、检察监督后立案）的案件数。",
           "Cases the police filed (case_transfer.case_filed, also after reconsideration or a filing order) in the period."),
        _d("police_refused", "公安机关不予立案", "Filing refused by the police", "count",
           f"{_IN}公安机关作出不予立案决定（case_transfer.filing_refused）的次数。",
           "Refusals to file (case_transfer.filing_refused) in the period."),
        _d("filing_rate", "立案率", "Filing rate (立案率)", "rate",
           "分子：期间内移送公安机关的案件中，公安机关已立案（至统计时）的案件数；"
           "分母：期间内移送公安机关的案件数。",
           "Numerator: of the cases transferred in the period, those the police have filed (by the time of the report); "
           "denominator: cases transferred in the period."),
        _d("reconsiderations_requested", "提请复议", "Reconsiderations requested", "count",
           f"{_IN}行政执法机关对不予立案提请复议（case_transfer.reconsideration_requested）的次数。",
           "Requests to reconsider a refusal (case_transfer.reconsideration_requested) in the period."),
        _d("reconsideration_filed", "复议后立案", "Reconsiderations ending in filing", "count",
           f"{_IN}公安机关复议决定撤销不予立案、予以立案（reconsideration_decided，outcome=file）的次数。",
           "Reconsideration decisions to file (reconsideration_decided with outcome file) in the period."),
        _d("reconsideration_upheld", "复议维持不予立案", "Refusals upheld on reconsideration", "count",
           f"{_IN}公安机关复议决定维持不予立案（reconsideration_decided，outcome=uphold）的次数。",
           "Reconsideration decisions upholding the refusal (outcome uphold) in the period."),
        _d("supervision_requested", "建议检察院立案监督", "Supervision requested", "count",
           f"{_IN}行政执法机关建议人民检察院立案监督（case_transfer.supervision_requested）的次数。",
           "Requests for procuratorate supervision (case_transfer.supervision_requested) in the period."),
        _d("supervision_opened", "检察院依职权监督", "Supervision opened by the procuratorate", "count",
           f"{_IN}人民检察院依职权开展立案监督（case_transfer.supervision_opened）的次数。",
           "Supervision the procuratorate opened on its own (case_transfer.supervision_opened) in the period."),
        _d("filing_ordered", "检察院通知立案", "Filing ordered", "count",
           f"{_IN}人民检察院通知公安机关立案（case_transfer.filing_ordered）的次数。",
           "Filing orders of the procuratorate (case_transfer.filing_ordered) in the period."),
        _d("supervision_concluded", "检察院认为不立案理由成立", "Refusal found sound", "count",
           f"{_IN}人民检察院认为不立案理由成立、结束监督（case_transfer.supervision_concluded）的次数。",
           "Supervisions ended with the refusal found sound (case_transfer.supervision_concluded) in the period."),
        _d("reverse_transfers", "反向移送案件", "Reverse transfers", "count",
           f"{_IN}启动的行刑反向衔接案件数（reverse_transfer.opened：不起诉后需行政处罚，或公安机关认为不构成犯罪）。",
           "Reverse transfers opened in the period (reverse_transfer.opened)."),
        _d("agency_replies", "主管机关书面回复检察意见", "Agency replies to procuratorial opinions", "count",
           f"{_IN}主管机关书面回复检察意见（“2个月内回复”时限已办理）的件数（按回复时间归属期间）。",
           "Written replies to a procuratorial opinion made in the period (the 2-month reply limit met)."),
        _d("agency_replies_on_time_rate", "2个月内回复率", "Replies within 2 months", "rate",
           "分子：期间内作出、未超过2个月时限的书面回复数；分母：期间内作出的书面回复数。",
           "Numerator: replies made in the period within the 2 months; denominator: replies made in the period."),
        _d("agency_replies_overdue", "逾期未回复", "Replies overdue", "count",
           "2个月回复时限在期间内届满、至统计时仍未回复的件数。",
           "Replies due in the period and still not made at the time of the report."),
    ),
    DEADLINES: (
        _d("due", "应办理时限", "Deadlines due", "count",
           "截止时间在期间内的法定义务时限数（不含权利行使期限和提醒；届满前已因程序变化取消的不计）。",
           "Statutory duties whose due date falls in the period (not windows or reminders; a deadline cancelled "
           "before it fell due is left out)."),
        _d("met_on_time", "按时办理", "Met on time", "count",
           "其中在截止前办理的数（办理时间早于截止时间；迟报但按时办理的，撤回超期，计为按时）。",
           "Of those, done before the due date (a step done in time but reported late counts as on time)."),
        _d("met_late", "超期后办理", "Met late", "count",
           "其中超期后才办理的数（曾超期，后办理）。",
           "Of those, done after the due date (breached, then done)."),
        _d("breached_open", "超期未办理", "Breached, still open", "count",
           "其中已超期、至统计时仍未办理的数。",
           "Of those, breached and still not done at the time of the report."),
        _d("breached_closed", "超期后程序终止", "Breached, then no longer required", "count",
           "其中已超期、后因程序走向变化不再需要办理的数。",
           "Of those, breached and later cancelled because the process took another path."),
        _d("pending", "尚未届满", "Not yet due", "count",
           "其中至统计时尚未届满、尚未办理的数。",
           "Of those, not yet due and not yet done at the time of the report."),
        _d("breached", "超期合计", "Breached in all", "count",
           "超期后办理、超期未办理、超期后程序终止之和：曾经超期的时限数（记录谁超期、哪项时限）。",
           "Met late + breached still open + breached then cancelled: every deadline that was ever breached."),
        _d("on_time_rate", "按时办理率", "On-time rate", "rate",
           "分子：按时办理数；分母：已届满或已办理的时限数（应办理时限减去尚未届满）。",
           "Numerator: met on time; denominator: deadlines due less those not yet due."),
        _d("used_ratio_median", "用时占时限比例（中位数）", "Time used / time allowed (median)", "ratio",
           "已办理时限的（办理时间−起算时间）÷（截止时间−起算时间）的中位数（线性插值）；大于100%即超期。",
           "Median over met deadlines of (done − start) ÷ (due − start), linear interpolation; above 100% is late."),
        _d("used_ratio_p90", "用时占时限比例（90分位）", "Time used / time allowed (90th percentile)", "ratio",
           "同上比例的第90百分位数（线性插值）。",
           "The 90th percentile of the same ratio (linear interpolation)."),
    ),
    DISPUTES: (
        _d("raised", "提出管辖争议", "Disputes raised", "count",
           f"{_IN}立项的管辖争议数（jurisdiction_dispute.opened）。",
           "Disputes opened in the period (jurisdiction_dispute.opened)."),
        _d("raised_positive", "积极争议", "Positive disputes", "count",
           "其中积极争议（多个机关均主张管辖）的数。", "Of those, positive (several agencies claim the case)."),
        _d("raised_negative", "消极争议", "Negative disputes", "count",
           "其中消极争议（各机关均不主张管辖）的数。", "Of those, negative (no agency will take the case)."),
        _d("resolved", "争议解决", "Disputes resolved", "count",
           f"{_IN}办结的争议中，经协商一致、协调机构指定或政府指定解决的数（不予受理的不计）。",
           "Disputes closed in the period by agreement, by the coordinator's or the government's designation "
           "(rejected requests not counted)."),
        _d("resolved_agreement", "协商一致", "By agreement", "count",
           f"{_IN}各方协商一致办结（case.closed，by=agreement）的数。",
           "Closed in the period by the parties' agreement."),
        _d("resolved_designation", "协调机构指定管辖", "By the coordinator's designation", "count",
           f"{_IN}协调机构指定管辖、被指定机关确认后办结的数。",
           "Closed in the period after the coordinator designated an agency and it acknowledged."),
        _d("resolved_government", "政府指定管辖", "By the government's designation", "count",
           f"{_IN}报请政府决定、政府指定管辖后办结的数。",
           "Closed in the period after the government designated an agency and it acknowledged."),
        _d("rejected", "不予受理", "Coordination rejected", "count",
           f"{_IN}协调机构不予受理而办结的数。", "Closed in the period because coordination was rejected."),
        _d("working_days_median", "解决用时（工作日，中位数）", "Working days to resolution (median)",
           "working_days",
           "期间内解决的争议，从立项日到办结日的工作日数（立项当日不计，按国家法定节假日日历）的中位数。",
           "Median, over disputes resolved in the period, of working days from opening to closing (the "
           "opening day not counted; China's official calendar)."),
        _d("working_days_p90", "解决用时（工作日，90分位）", "Working days to resolution (90th percentile)",
           "working_days", "同上工作日数的第90百分位数（线性插值）。",
           "The 90th percentile of the same working days (linear interpolation)."),
        _d("extensions_used", "延长指定管辖期限", "Extensions used", "count",
           f"{_IN}协调机构延长指定管辖期限（jurisdiction_dispute.extended）的次数。",
           "Extensions of the designation deadline (jurisdiction_dispute.extended) in the period."),
    ),
    REFERRALS: (
        _d("opened", "移送问题线索", "Clues recorded", "count",
           f"{_IN}录入的问题线索数（discipline_referral.opened），仅按状态和来源统计，不含任何线索内容。",
           "Clues recorded in the period (discipline_referral.opened), counted by state and source only, "
           "never by content."),
    ),
    DELEGATIONS: (
        _d("items_in_force", "在施赋权事项", "Items in force", "count",
           "至统计时由乡镇行使（乡镇行使中或评估中）的赋权事项数（当前状态，不随期间变化）。",
           "Items the townships exercise now (active or under review); the current state, not the period's."),
        _d("townships", "承接乡镇（街道）", "Townships exercising items", "count",
           "至统计时有在施赋权事项的乡镇（街道）数。", "Townships with at least one item in force now."),
        _d("cases_handled", "办理案件", "Cases handled", "count",
           f"{_IN}乡镇按赋权事项报告办理案件（item_case_recorded，activity=handled）的件数。",
           "Cases the townships reported handling under a delegated item (item_case_recorded, handled) in the period."),
        _d("items_kept", "评估后继续实施", "Kept at review", "count",
           f"{_IN}评估决定继续实施的事项数。", "Items the reviews concluded in the period kept."),
        _d("items_adjusted", "评估后调整", "Adjusted at review", "count",
           f"{_IN}评估决定调整实施范围的事项数。", "Items the reviews concluded in the period adjusted."),
        _d("items_revoked", "评估后收回", "Revoked at review", "count",
           f"{_IN}评估决定收回的事项数。", "Items the reviews concluded in the period revoked."),
        _d("items_revoked_early", "政府提前收回", "Revoked early by the government", "count",
           f"{_IN}政府在评估前收回的事项数（item_revoked_early）。",
           "Items the government revoked before their review (item_revoked_early) in the period."),
    ),
}
# fmt: on

# Columns of tables that are not figures of their own.
_EXTRA_COLUMNS: dict[str, tuple[str, str, Unit]] = {
    "label": ("名称", "Name", "text"),
    "count": ("数量", "Count", "count"),
    "township": ("乡镇（街道）", "Township", "text"),
    "state": ("状态", "State", "text"),
    "cases_handled_total": ("累计办理案件", "Cases handled in all", "count"),
}

_CLUE_SOURCES: dict[str, tuple[str, str]] = {
    "special_rectification": ("专项整治", "Special rectification"),
    "case_file_review": ("案卷评查", "Case-file review"),
    "hotline_complaint": ("12345热线投诉", "12345 hotline complaint"),
    "court_judgment": ("法院判决撤销或确认违法", "Court judgment"),
    "case_transfer_escalation": ("行刑衔接逾期未移送", "Case-transfer escalation"),
    "other": ("其他", "Other"),
}

_DISPUTE_OUTCOMES: dict[str, tuple[str, str, str]] = {
    # outcome key -> (the figure, zh, en); the close's payload ``by`` names it.
    "agreement": ("resolved_agreement", "协商一致", "By agreement"),
    "designation": ("resolved_designation", "协调机构指定管辖", "By the coordinator's designation"),
    "government": ("resolved_government", "政府指定管辖", "By the government's designation"),
    "rejected": ("rejected", "不予受理", "Coordination rejected"),
}
_BY_TO_OUTCOME = {"agreement": "agreement", "coordinator": "designation", "government": "government"}

# Case-transfer figures that are plain counts of one event type.
_CT_EVENTS: dict[str, str] = {
    "crimes_suspected": "case_transfer.crime_suspected",
    "head_approved": "case_transfer.transfer_approved",
    "head_refused": "case_transfer.transfer_refused_by_head",
    "transfers": "case_transfer.transferred",
    "police_filed": "case_transfer.case_filed",
    "police_refused": "case_transfer.filing_refused",
    "reconsiderations_requested": "case_transfer.reconsideration_requested",
    "supervision_requested": "case_transfer.supervision_requested",
    "supervision_opened": "case_transfer.supervision_opened",
    "filing_ordered": "case_transfer.filing_ordered",
    "supervision_concluded": "case_transfer.supervision_concluded",
    "reverse_transfers": "reverse_transfer.opened",
}
_CT_SERIES_COUNTS = ("crimes_suspected", "transfers", "police_filed")
_RECONSIDERATION_DECIDED = "case_transfer.reconsideration_decided"
_TRANSFER_RULE = "case_transfer.transfer_after_approval"
_REPLY_RULE = "reverse_transfer.agency_reply"
_DUTY = str(dl.Nature.DUTY)
_ITEMS_IN_FORCE = ("active", "under_review")


# ----- public API --------------------------------------------------------------------------------


def definition(section: str, key: str) -> Definition:
    """The definition of figure ``key`` of ``section``.

    Raises:
        KeyError: naming the figure when there is none.
    """
    for d in DEFINITIONS.get(section, ()):
        if d.key == key:
            return d
    raise KeyError(f"no figure {key!r} in section {section!r}")


def scope_agencies(*, district: str | None = None, agency: str | None = None) -> frozenset[str] | None:
    """The agencies whose figures a scope covers; None for everyone.

    Args:
        district: a district government's id: the agencies of that district.
        agency: one agency's id (the console forces the officer's own agency here).

    Raises:
        ValueError: naming ``district`` or ``agency`` when the id is unknown, or when the
            district id is not a district government.
    """
    chosen: frozenset[str] | None = None
    if district is not None:
        found = get_agency(district)
        if found is None:
            raise ValueError(f"district: unknown agency {district!r}")
        if found.kind is not AgencyKind.GOVERNMENT or found.level is not AgencyLevel.DISTRICT:
            raise ValueError(f"district: {district!r} is not a district or county government")
        chosen = frozenset(a.id for a in agencies().values() if a.district == district)
    if agency is not None:
        if get_agency(agency) is None:
            raise ValueError(f"agency: unknown agency {agency!r}")
        chosen = frozenset({agency}) if chosen is None else chosen & {agency}
    return chosen


def compute(
    session: Session,
    period: Period,
    *,
    district: str | None = None,
    agency: str | None = None,
    include_referrals: bool = False,
    calendar: dl.WorkCalendar | None = None,
    now: datetime | None = None,
) -> Statistics:
    """Every figure of the report for ``period``, for everyone or one district or agency.

    Args:
        session: a read-model session.
        period: the reporting period.
        district: a district government's id; only that district's agencies count.
        agency: one agency's id; only its figures count. The console passes the officer's own
            agency for agency officers, whatever the query string says.
        include_referrals: True only for readers entitled to know that referrals exist; without
            it the report has no referrals section at all (not even a zero).
        calendar: China's working-day calendar with the schedules operators loaded (disputes
            count working days); the package calendar when None.
        now: the reference time for "still open" and "not yet due"; the clock when None.

    Raises:
        ValueError: naming ``district`` or ``agency`` for an unknown id.
    """
    scope = scope_agencies(district=district, agency=agency)
    ctx = _Context(session, period, scope, calendar or dl.WorkCalendar(), now or datetime.now(UTC))
    builders: list[Callable[[_Context], Section]] = [_case_transfer, _deadlines, _disputes]
    if include_referrals:
        builders.append(_referrals)
    builders.append(_delegations)
    return Statistics(
        period=period,
        period_zh=period.label_zh,
        period_en=period.label_en,
        scope=Scope(
            district=district,
            district_zh=agency_label(district, "zh") if district else None,
            district_en=agency_label(district, "en") if district else None,
            agency=agency,
            agency_zh=agency_label(agency, "zh") if agency else None,
            agency_en=agency_label(agency, "en") if agency else None,
        ),
        generated_at=ctx.now,
        sections=[build(ctx) for build in builders],
    )


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """The ``fraction`` quantile by linear interpolation between closest ranks (the median is
    0.5); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 4)


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, None when nothing was counted."""
    return round(numerator / denominator, 4) if denominator else None


def definitions_markdown() -> str:
    """The README's list of every figure and its definition (kept equal to the README by a test)."""
    lines: list[str] = []
    for key in SECTION_KEYS:
        zh, en = SECTION_TITLES[key]
        lines += [f"**{zh} / {en}** (`{key}`)", ""]
        lines += ["| figure | 指标 | definition | 定义 |", "| --- | --- | --- | --- |"]
        for d in DEFINITIONS[key]:
            lines.append(f"| `{d.key}` {d.en} | {d.zh} | {d.definition_en} | {d.definition_zh} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ----- evaluation --------------------------------------------------------------------------------


class _Context:
    """One report's inputs and the time ranges its queries read."""

    def __init__(
        self,
        session: Session,
        period: Period,
        agencies: frozenset[str] | None,
        calendar: dl.WorkCalendar,
        now: datetime,
    ) -> None:
        self.session = session
        self.period = period
        self.agencies = agencies
        self.calendar = calendar
        self.now = now
        self.months = period.trend_months(TREND_MONTHS)
        self.month_keys = [month_key(m) for m in self.months]
        self.trend_start = shanghai_midnight(self.months[0])
        last = self.months[-1]
        self.trend_end = shanghai_midnight(date(last.year + last.month // 12, last.month % 12 + 1, 1))
        self.month_firsts = [shanghai_midnight(m) for m in self.months] + [self.trend_end]
        # A period of whole months is counted from the monthly counts, any other from the rows.
        self.whole_months = period.start.day == 1 and (period.end + timedelta(days=1)).day == 1
        self.period_months = [month_key(m) for m in period.months()]

    @property
    def start(self) -> datetime:
        return self.period.start_at

    @property
    def end(self) -> datetime:
        return self.period.end_at

    def month(self, column: Any) -> Any:
        return q.month_bucket(column, self.month_firsts, self.month_keys)

    def counts(
        self,
        types: Collection[str],
        *,
        by: dict[str, Any],
        process: str | None = None,
        join_case: bool = False,
    ) -> list[Any]:
        """Grouped counts of timeline entries of ``types`` in the period, read from the entries
        (for what the monthly counts do not hold: a case's current state, a later event)."""
        columns = {"type": q.TIMELINE.c.type, **by}
        need_case = join_case or self.agencies is not None
        return q.grouped(
            self.session,
            columns,
            where=q.event_where(types, self.start, self.end, process=process, agencies=self.agencies),
            select_from=q.timeline_with_case() if need_case else q.TIMELINE,
        )

    def tallies(
        self, types: Collection[str], *, by: tuple[str, ...] = (), trend: bool, process: str | None = None
    ) -> list[Any]:
        """Counts of timeline entries of ``types`` by type and ``by`` (``agency``, the case's
        owner; ``detail``, the type's :data:`~services.statistics.aggregate.DETAIL_FIELDS`
        value) in the period, or with ``trend`` by month ``m`` in the trend months."""
        if trend or self.whole_months:
            months = self.month_keys if trend else self.period_months
            by = (*by, "m") if trend else by
            return agg.event_counts(
                self.session, types, months, by=by, process=process, agencies=self.agencies
            )
        columns: dict[str, Any] = {}
        if "agency" in by:
            columns["agency"] = q.CASES.c.agency
        if "detail" in by:
            columns["detail"] = _entry_detail(types)
        return self.counts(types, by=columns, process=process, join_case="agency" in by)

    def deadline_counts(
        self,
        basis: str,
        by: tuple[str, ...],
        *,
        trend: bool,
        rule: str | None = None,
        nature: str | None = None,
        status: str | None = None,
    ) -> list[Any]:
        """Deadline rows by ``by`` (of ``rule``, ``party``, ``status``, ``late``: ever breached)
        whose due date (``basis`` ``due``) or met date (``met``) falls in the period, or with
        ``trend`` by month ``m`` in the trend months; owed by the scope's agencies."""
        if trend or self.whole_months:
            months = self.month_keys if trend else self.period_months
            by = (*by, "m") if trend else by
            return agg.deadline_counts(
                self.session,
                basis,
                months,
                by=by,
                rule=rule,
                nature=nature,
                status=status,
                agencies=self.agencies,
            )
        d = q.DEADLINES.c
        on = d.due_at if basis == "due" else d.met_at
        named = {"rule": d.rule, "party": d.party, "status": d.status, "late": d.ever_breached}
        where = [on >= self.start, on < self.end]
        for column, value in ((d.rule, rule), (d.nature, nature), (d.status, status)):
            if value is not None:
                where.append(column == value)
        if self.agencies is not None:
            where.append(d.party.in_(sorted(self.agencies)))
        return q.grouped(self.session, {k: named[k] for k in by}, where=where, select_from=q.DEADLINES)

    def series(self, section: str, key: str, values: dict[str, int | float | None]) -> Series:
        d = definition(section, key)
        points = []
        for first, mk in zip(self.months, self.month_keys, strict=True):
            zh, en = month_labels(first)
            points.append(Point(month=mk, label_zh=zh, label_en=en, value=values.get(mk, 0)))
        return Series(key=key, zh=d.zh, en=d.en, unit=d.unit, points=points)

    def rate_series(self, section: str, key: str, num: Counter[str], den: Counter[str]) -> Series:
        return self.series(section, key, {m: rate(num[m], den[m]) for m in self.month_keys})


def _figure(
    section: str, key: str, value: int | float | None, num: int | None = None, den: int | None = None
) -> Figure:
    d = definition(section, key)
    return Figure(
        key=key,
        zh=d.zh,
        en=d.en,
        unit=d.unit,
        value=value,
        numerator=num,
        denominator=den,
        definition_zh=d.definition_zh,
        definition_en=d.definition_en,
    )


def _rate_figure(section: str, key: str, num: int, den: int) -> Figure:
    return _figure(section, key, rate(num, den), num, den)


def _columns(section: str, keys: Iterable[str]) -> list[Column]:
    out = []
    for key in keys:
        if key in _EXTRA_COLUMNS:
            zh, en, unit = _EXTRA_COLUMNS[key]
        else:
            d = definition(section, key)
            zh, en, unit = d.zh, d.en, d.unit
        out.append(Column(key=key, zh=zh, en=en, unit=unit))
    return out


def _row(key: str, zh: str, en: str, values: dict[str, Value]) -> Row:
    return Row(key=key, label_zh=zh, label_en=en, values={"label": zh, **values})


def _agency_row(agency_id: str | None, values: dict[str, Value]) -> Row:
    if not agency_id:
        return _row("", "未注明机关", "No agency", values)
    return _row(agency_id, agency_label(agency_id, "zh"), agency_label(agency_id, "en"), values)


def _sorted_rows(rows: list[Row], by: str) -> list[Row]:
    return sorted(rows, key=lambda r: (-float(r.values.get(by) or 0), r.key))


def _total(columns: list[Column], rows: list[Row], rates: dict[str, tuple[str, str]] | None = None) -> Row:
    """A total row: counts summed, rates recomputed from their summed parts (never averaged)."""
    values: dict[str, Value] = {}
    for c in columns[1:]:
        if c.unit == "count":
            values[c.key] = sum(int(r.values.get(c.key) or 0) for r in rows)
    for key, (num, den) in (rates or {}).items():
        values[key] = rate(int(values.get(num) or 0), int(values.get(den) or 0))
    return _row("total", "合计", "Total", values)


# ----- 1. case transfer ---------------------------------------------------------------------------


def _case_transfer(ctx: _Context) -> Section:
    s = CASE_TRANSFER
    per_agency, totals, monthly = _case_transfer_tallies(ctx)

    outcomes: Counter[str] = Counter()
    for r in ctx.tallies([_RECONSIDERATION_DECIDED], by=("detail",), trend=False):
        outcomes[r.detail] += r.n

    # Transfers within 24 h of approval: the transfer deadline, by when the step was done.
    on_time_24h, met_24h = _met_deadlines(ctx, _TRANSFER_RULE, per_agency, "t24_on_time", "t24_met")
    monthly_24h_num, monthly_24h_den = _met_deadlines_monthly(ctx, _TRANSFER_RULE)
    cohort_num, cohort_den = _filing_cohort(ctx, per_agency)

    # Reverse transfers: the agencies' written replies, by when they replied.
    replies_on_time, replies = _met_deadlines(ctx, _REPLY_RULE, None, "", "")
    overdue = sum(
        r.n for r in ctx.deadline_counts("due", ("rule",), trend=False, rule=_REPLY_RULE, status="breached")
    )

    figures = [_figure(s, "crimes_suspected", totals["crimes_suspected"])]
    figures += [_figure(s, k, totals[k]) for k in ("head_approved", "head_refused", "transfers")]
    figures.append(_rate_figure(s, "transfer_within_24h_rate", on_time_24h, met_24h))
    figures += [_figure(s, k, totals[k]) for k in ("police_filed", "police_refused")]
    figures.append(_rate_figure(s, "filing_rate", cohort_num, cohort_den))
    figures.append(_figure(s, "reconsiderations_requested", totals["reconsiderations_requested"]))
    figures.append(_figure(s, "reconsideration_filed", outcomes["file"]))
    figures.append(_figure(s, "reconsideration_upheld", outcomes["uphold"]))
    figures += [
        _figure(s, k, totals[k])
        for k in ("supervision_requested", "supervision_opened", "filing_ordered", "supervision_concluded")
    ]
    figures.append(_figure(s, "reverse_transfers", totals["reverse_transfers"]))
    figures.append(_figure(s, "agency_replies", replies))
    figures.append(_rate_figure(s, "agency_replies_on_time_rate", replies_on_time, replies))
    figures.append(_figure(s, "agency_replies_overdue", overdue))

    by_agency = _case_transfer_by_agency(per_agency, (on_time_24h, met_24h), (cohort_num, cohort_den))
    series = [ctx.series(s, k, dict(monthly[k])) for k in _CT_SERIES_COUNTS]
    series.append(ctx.rate_series(s, "transfer_within_24h_rate", monthly_24h_num, monthly_24h_den))
    zh, en = SECTION_TITLES[s]
    return Section(key=s, zh=zh, en=en, figures=figures, tables=[by_agency], series=series)


def _case_transfer_tallies(
    ctx: _Context,
) -> tuple[dict[str | None, Counter[str]], Counter[str], dict[str, Counter[str]]]:
    """The plain event counts of the section, per agency and in all for the period, and by
    month for the series: one query each, whatever the number of event types."""
    per_agency: dict[str | None, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    type_to_key = {t: k for k, t in _CT_EVENTS.items()}
    for r in ctx.tallies(list(_CT_EVENTS.values()), by=("agency",), trend=False):
        key = type_to_key[r.type]
        per_agency[r.agency][key] += r.n
        totals[key] += r.n
    monthly: dict[str, Counter[str]] = defaultdict(Counter)
    series_types = [_CT_EVENTS[k] for k in _CT_SERIES_COUNTS]
    for r in ctx.tallies(series_types, trend=True):
        monthly[type_to_key[r.type]][r.m] += r.n
    return per_agency, totals, monthly


def _filing_cohort(ctx: _Context, per_agency: dict[str | None, Counter[str]]) -> tuple[int, int]:
    """立案率's parts: of the cases transferred in the period, (those the police filed, all of
    them), also added to each agency's ``cohort_num``/``cohort_den``. A cohort, not two counts
    of the period, so a filing in the period of a case transferred earlier does not count."""
    cohort_num = cohort_den = 0
    for r in ctx.tallies([agg.TRANSFERRED], by=("agency", "detail"), trend=False):
        per_agency[r.agency]["cohort_den"] += r.n
        cohort_den += r.n
        if r.detail == agg.FILED:
            per_agency[r.agency]["cohort_num"] += r.n
            cohort_num += r.n
    return cohort_num, cohort_den


_CT_AGENCY_KEYS = (
    "label",
    "crimes_suspected",
    "transfers",
    "head_refused",
    "transfer_within_24h_rate",
    "police_filed",
    "police_refused",
    "filing_rate",
    "reconsiderations_requested",
    "supervision_requested",
)
_CT_AGENCY_RATES = ("transfer_within_24h_rate", "filing_rate")


def _case_transfer_by_agency(
    per_agency: dict[str | None, Counter[str]], within_24h: tuple[int, int], cohort: tuple[int, int]
) -> Table:
    """The by-agency table; its total's rates come from the section's own parts (``within_24h``
    and ``cohort``, each numerator and denominator), never from averaging the agencies' rates."""
    s = CASE_TRANSFER
    keys = _CT_AGENCY_KEYS
    columns = _columns(s, keys)
    rows = []
    for agency_id, c in per_agency.items():
        if not any(c[k] for k in (*keys[1:], "t24_met", "cohort_den") if k not in _CT_AGENCY_RATES):
            continue
        rows.append(
            _agency_row(
                agency_id,
                {
                    **{k: c[k] for k in keys[1:] if k not in _CT_AGENCY_RATES},
                    "transfer_within_24h_rate": rate(c["t24_on_time"], c["t24_met"]),
                    "filing_rate": rate(c["cohort_num"], c["cohort_den"]),
                },
            )
        )
    rows = _sorted_rows(rows, "crimes_suspected")
    total = _total(columns, rows)
    total = total.model_copy(
        update={
            "values": {
                **total.values,
                "transfer_within_24h_rate": rate(*within_24h),
                "filing_rate": rate(*cohort),
            }
        }
    )
    return Table(
        key="by_agency", zh="按行政执法机关", en="By agency", columns=columns, rows=rows, total=total
    )


_FILING = q.TIMELINE.alias("filing")


def _entry_detail(types: Collection[str]) -> Any:
    """What the monthly counts hold as an entry's detail (:func:`aggregate.detail_of`), for the
    entries themselves: the type's payload field, or whether a transfer's case was filed."""
    t = q.TIMELINE.c
    chosen = [(t.type == k, q.payload_text(f)) for k, f in sorted(agg.DETAIL_FIELDS.items()) if k in types]
    if agg.TRANSFERRED in types:
        # One probe of the case's own entries per transfer: the OFFSET keeps PostgreSQL from
        # turning the EXISTS into a hash of every filing ever recorded instead.
        filed = (
            select(_FILING.c.event_id)
            .where(_FILING.c.workflow_id == t.workflow_id, _FILING.c.type == agg.FILED_TYPE)
            .offset(0)
            .exists()
        )
        chosen.append((and_(t.type == agg.TRANSFERRED, filed), literal(agg.FILED)))
    return case(*chosen, else_=None) if chosen else null()


def _met_deadlines(
    ctx: _Context,
    rule: str,
    per_agency: dict[str | None, Counter[str]] | None,
    on_time_key: str,
    met_key: str,
) -> tuple[int, int]:
    """Deadlines of ``rule`` met in the period: (met without a breach, met in all); each agency's
    counts go into ``per_agency`` (the party that owed the step) when given."""
    on_time = met = 0
    for r in ctx.deadline_counts("met", ("party", "late"), trend=False, rule=rule, status="met"):
        met += r.n
        if not r.late:
            on_time += r.n
        if per_agency is not None:
            per_agency[r.party][met_key] += r.n
            if not r.late:
                per_agency[r.party][on_time_key] += r.n
    return on_time, met


def _met_deadlines_monthly(ctx: _Context, rule: str) -> tuple[Counter[str], Counter[str]]:
    num: Counter[str] = Counter()
    den: Counter[str] = Counter()
    for r in ctx.deadline_counts("met", ("late",), trend=True, rule=rule, status="met"):
        den[r.m] += r.n
        if not r.late:
            num[r.m] += r.n
    return num, den


# ----- 2. deadlines -------------------------------------------------------------------------------

_DEADLINE_COUNTS = ("met_on_time", "met_late", "breached_open", "breached_closed", "pending")


def deadline_outcome(status: str, ever_breached: bool) -> str | None:
    """Which count a duty deadline falls in, from its current status and its breach history;
    None for one cancelled before it fell due (it never became due)."""
    if status == "met":
        return "met_late" if ever_breached else "met_on_time"
    if status == "breached":
        return "breached_open"
    if status == "cancelled":
        return "breached_closed" if ever_breached else None
    if status == "open":
        return "pending"
    return None


def _deadline_values(c: Counter[str], ratios: list[float]) -> dict[str, Value]:
    due = sum(c[k] for k in _DEADLINE_COUNTS)
    fallen = due - c["pending"]
    return {
        "due": due,
        **{k: c[k] for k in _DEADLINE_COUNTS},
        "breached": c["met_late"] + c["breached_open"] + c["breached_closed"],
        "on_time_rate": rate(c["met_on_time"], fallen),
        "used_ratio_median": percentile(ratios, 0.5),
        "used_ratio_p90": percentile(ratios, 0.9),
    }


def _deadlines(ctx: _Context) -> Section:
    s = DEADLINES
    by_rule, by_party, totals = _deadline_outcomes(ctx)
    ratios, ratios_rule, ratios_party = _used_ratios(ctx)

    monthly: dict[str, Counter[str]] = defaultdict(Counter)
    for r in ctx.deadline_counts("due", ("status", "late"), trend=True, nature=_DUTY):
        outcome = deadline_outcome(r.status, bool(r.late))
        if outcome is not None:
            monthly[r.m][outcome] += r.n

    values = _deadline_values(totals, ratios)
    figures = []
    for df in DEFINITIONS[s]:
        v = values[df.key]
        if df.unit == "rate":
            due = int(values["due"] or 0)
            figures.append(_rate_figure(s, df.key, totals["met_on_time"], due - totals["pending"]))
        else:
            figures.append(_figure(s, df.key, v if not isinstance(v, str) else None))
    columns = _columns(s, _DEADLINE_TABLE_KEYS)
    rule_rows = []
    for rule, c in by_rule.items():
        spec = dl.RULES.get(rule)
        zh, en = (spec.label_zh, spec.label_en) if spec else (rule, rule)
        rule_rows.append(
            _row(rule, zh, en, _pick(_deadline_values(c, ratios_rule[rule]), _DEADLINE_TABLE_KEYS))
        )
    party_rows = [
        _agency_row(party, _pick(_deadline_values(c, ratios_party[party]), _DEADLINE_TABLE_KEYS))
        for party, c in by_party.items()
    ]
    total = _row("total", "合计", "Total", _pick(values, _DEADLINE_TABLE_KEYS))
    tables = [
        Table(
            key="by_rule",
            zh="按时限事项",
            en="By rule",
            columns=columns,
            rows=_sorted_rows(rule_rows, "due"),
            total=total,
        ),
        Table(
            key="by_agency",
            zh="按承办机关",
            en="By agency owing the step",
            columns=columns,
            rows=_sorted_rows(party_rows, "due"),
            total=total,
        ),
    ]
    zh, en = SECTION_TITLES[s]
    return Section(
        key=s,
        zh=zh,
        en=en,
        figures=figures,
        tables=tables,
        series=_deadline_series(ctx, monthly),
        note_zh="按截止时间归属期间；只统计法定义务时限，不含权利行使期限（如提请复议期限）和提醒。",
        note_en="Counted by due date; statutory duties only, not windows (such as the time to ask for "
        "reconsideration) or reminders.",
    )


_DEADLINE_TABLE_KEYS = (
    "label",
    "due",
    "met_on_time",
    "met_late",
    "breached_open",
    "breached_closed",
    "on_time_rate",
    "used_ratio_median",
    "used_ratio_p90",
)


def _deadline_outcomes(
    ctx: _Context,
) -> tuple[dict[str, Counter[str]], dict[str | None, Counter[str]], Counter[str]]:
    """Duty deadlines due in the period by outcome (:func:`deadline_outcome`): per rule, per
    party owing the step, and in all, from one grouped count."""
    by_rule: dict[str, Counter[str]] = defaultdict(Counter)
    by_party: dict[str | None, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for r in ctx.deadline_counts("due", ("rule", "party", "status", "late"), trend=False, nature=_DUTY):
        outcome = deadline_outcome(r.status, bool(r.late))
        if outcome is None:
            continue
        by_rule[r.rule][outcome] += r.n
        by_party[r.party][outcome] += r.n
        totals[outcome] += r.n
    return by_rule, by_party, totals


def _used_ratios(
    ctx: _Context,
) -> tuple[list[float], dict[str, list[float]], dict[str | None, list[float]]]:
    """Time used over time allowed of every met duty deadline due in the period: all of them,
    per rule and per party. Read from the rows, not the monthly counts, because percentiles
    need each value."""
    d = q.DEADLINES.c
    where = [d.nature == _DUTY, d.due_at >= ctx.start, d.due_at < ctx.end]
    if ctx.agencies is not None:
        where.append(d.party.in_(sorted(ctx.agencies)))
    ratios_rule: dict[str, list[float]] = defaultdict(list)
    ratios_party: dict[str | None, list[float]] = defaultdict(list)
    ratios: list[float] = []
    allowed = q.seconds_between(ctx.session, d.starts_at, d.due_at)
    used = q.seconds_between(ctx.session, d.starts_at, d.met_at)
    # One number per met deadline, computed by the database (time used over time allowed).
    for r in q.rows(
        ctx.session,
        {"rule": d.rule, "party": d.party, "ratio": used / allowed},
        where=[*where, d.status == "met", d.due_at > d.starts_at],
        select_from=q.DEADLINES,
    ):
        if r.ratio is None:
            continue
        ratio = float(r.ratio)
        ratios.append(ratio)
        ratios_rule[r.rule].append(ratio)
        ratios_party[r.party].append(ratio)
    return ratios, ratios_rule, ratios_party


def _deadline_series(ctx: _Context, monthly: dict[str, Counter[str]]) -> list[Series]:
    """Deadlines due, breached and the on-time rate by month, from each month's outcomes."""
    s = DEADLINES
    series = [
        ctx.series(s, "due", {m: sum(c[k] for k in _DEADLINE_COUNTS) for m, c in monthly.items()}),
        ctx.series(
            s,
            "breached",
            {m: c["met_late"] + c["breached_open"] + c["breached_closed"] for m, c in monthly.items()},
        ),
        ctx.series(
            s,
            "on_time_rate",
            {
                m: rate(c["met_on_time"], sum(c[k] for k in _DEADLINE_COUNTS) - c["pending"])
                for m, c in monthly.items()
            },
        ),
    ]
    # A month without deadlines has no on-time rate (the line breaks), not a rate of 0.
    series[2] = series[2].model_copy(
        update={
            "points": [
                p if p.month in monthly else p.model_copy(update={"value": None}) for p in series[2].points
            ]
        }
    )
    return series


def _pick(values: dict[str, Value], keys: Iterable[str]) -> dict[str, Value]:
    return {k: values[k] for k in keys if k != "label"}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ----- 3. disputes --------------------------------------------------------------------------------


def _disputes(ctx: _Context) -> Section:
    s = DISPUTES
    opened = "jurisdiction_dispute.opened"
    per_agency, totals = _disputes_raised(ctx, opened)
    extensions = sum(r.n for r in ctx.tallies(["jurisdiction_dispute.extended"], trend=False))
    outcomes = _dispute_outcomes(ctx)
    resolved_days = [v for k in ("agreement", "designation", "government") for v in outcomes[k]]

    monthly: dict[str, Counter[str]] = defaultdict(Counter)
    for r in ctx.tallies([opened, "case.closed"], by=("detail",), trend=True, process=DISPUTE_PROCESS):
        if r.type == opened:
            monthly["raised"][r.m] += r.n
        elif r.detail in _BY_TO_OUTCOME:
            monthly["resolved"][r.m] += r.n

    figures = [_figure(s, k, totals[k]) for k in ("raised", "raised_positive", "raised_negative")]
    figures.append(_figure(s, "resolved", len(resolved_days)))
    figures += [_figure(s, fig, len(outcomes[k])) for k, (fig, _, _) in _DISPUTE_OUTCOMES.items()]
    figures.append(_figure(s, "working_days_median", percentile(resolved_days, 0.5)))
    figures.append(_figure(s, "working_days_p90", percentile(resolved_days, 0.9)))
    figures.append(_figure(s, "extensions_used", extensions))

    series = [
        ctx.series(s, "raised", dict(monthly["raised"])),
        ctx.series(s, "resolved", dict(monthly["resolved"])),
    ]
    zh, en = SECTION_TITLES[s]
    tables = [_dispute_outcome_table(outcomes), _dispute_agency_table(per_agency)]
    return Section(key=s, zh=zh, en=en, figures=figures, tables=tables, series=series)


def _disputes_raised(ctx: _Context, opened: str) -> tuple[dict[str | None, Counter[str]], Counter[str]]:
    """Disputes opened in the period, positive and negative apart, per raising agency and in all."""
    per_agency: dict[str | None, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for r in ctx.tallies([opened], by=("agency", "detail"), trend=False):
        kind_key = {"positive": "raised_positive", "negative": "raised_negative"}.get(r.detail)
        for c in (per_agency[r.agency], totals):
            c["raised"] += r.n
            if kind_key:
                c[kind_key] += r.n
    return per_agency, totals


def _dispute_outcomes(ctx: _Context) -> dict[str, list[int]]:
    """Per outcome, the working days each dispute closed in the period took. Read from the
    rows, not the monthly counts: the days need each case's opening time and the calendar."""
    outcomes: dict[str, list[int]] = {k: [] for k in _DISPUTE_OUTCOMES}
    t = q.TIMELINE.c
    need_agency = [q.CASES.c.agency.in_(sorted(ctx.agencies))] if ctx.agencies is not None else []
    for r in q.rows(
        ctx.session,
        {"closed_at": t.occurred_at, "opened_at": q.CASES.c.opened_at, "by": q.payload_text("by")},
        where=[*q.event_where(["case.closed"], ctx.start, ctx.end, process=DISPUTE_PROCESS), *need_agency],
        select_from=q.timeline_with_case(),
    ):
        outcome = _BY_TO_OUTCOME.get(r.by or "", "rejected")
        outcomes[outcome].append(_working_days(ctx, _aware(r.opened_at), _aware(r.closed_at)))
    return outcomes


def _dispute_outcome_table(outcomes: dict[str, list[int]]) -> Table:
    """Disputes closed by outcome with their working days; the total has no percentiles, since
    a median of all outcomes together would mix rejections in with resolutions."""
    s = DISPUTES
    outcome_rows = [
        _row(
            k,
            zh,
            en,
            {
                "count": len(outcomes[k]),
                "working_days_median": percentile(outcomes[k], 0.5),
                "working_days_p90": percentile(outcomes[k], 0.9),
            },
        )
        for k, (_, zh, en) in _DISPUTE_OUTCOMES.items()
    ]
    return Table(
        key="by_outcome",
        zh="按解决方式",
        en="By outcome",
        columns=_columns(s, ("label", "count", "working_days_median", "working_days_p90")),
        rows=outcome_rows,
        total=_row(
            "total",
            "合计",
            "Total",
            {
                "count": sum(len(v) for v in outcomes.values()),
                "working_days_median": None,
                "working_days_p90": None,
            },
        ),
    )


def _dispute_agency_table(per_agency: dict[str | None, Counter[str]]) -> Table:
    """Disputes raised per agency, positive and negative apart, busiest first."""
    agency_columns = _columns(DISPUTES, ("label", "raised", "raised_positive", "raised_negative"))
    agency_rows = _sorted_rows(
        [
            _agency_row(a, {k: c[k] for k in ("raised", "raised_positive", "raised_negative")})
            for a, c in per_agency.items()
        ],
        "raised",
    )
    return Table(
        key="by_agency",
        zh="按提出争议的机关",
        en="By agency raising the dispute",
        columns=agency_columns,
        rows=agency_rows,
        total=_total(agency_columns, agency_rows),
    )


def _working_days(ctx: _Context, start: datetime, end: datetime) -> int:
    return dl.working_days_between(
        start.astimezone(dl.SHANGHAI).date(), end.astimezone(dl.SHANGHAI).date(), ctx.calendar
    )


# ----- 4. referrals (need-to-know: counts by state and source, nothing else) ----------------------


def _referrals(ctx: _Context) -> Section:
    s = REFERRALS
    by_state: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for r in ctx.counts(
        ["discipline_referral.opened"],
        by={"state": q.CASES.c.state, "source": q.payload_text("source")},
        join_case=True,
    ):
        by_state[r.state] += r.n
        by_source[r.source or "other"] += r.n
    monthly: Counter[str] = Counter()
    for r in ctx.tallies(["discipline_referral.opened"], trend=True):
        monthly[r.m] += r.n
    columns = _columns(s, ("label", "count"))
    state_rows = _sorted_rows(
        [
            _row(
                st,
                state_label("discipline_referral", st, "zh"),
                state_label("discipline_referral", st, "en"),
                {"count": n},
            )
            for st, n in by_state.items()
        ],
        "count",
    )
    source_rows = _sorted_rows(
        [_row(src, *_CLUE_SOURCES.get(src, (src, src)), {"count": n}) for src, n in by_source.items()],
        "count",
    )
    total = sum(by_state.values())
    tables = [
        Table(
            key="by_state",
            zh="按当前状态",
            en="By current state",
            columns=columns,
            rows=state_rows,
            total=_row("total", "合计", "Total", {"count": total}),
        ),
        Table(
            key="by_source",
            zh="按线索来源",
            en="By source",
            columns=columns,
            rows=source_rows,
            total=_row("total", "合计", "Total", {"count": total}),
        ),
    ]
    zh, en = SECTION_TITLES[s]
    return Section(
        key=s,
        zh=zh,
        en=en,
        figures=[_figure(s, "opened", total)],
        tables=tables,
        series=[ctx.series(s, "opened", dict(monthly))],
        note_zh="仅统计数量；线索内容仅对纪检监察人员和移送机关负责人可见。",
        note_en="Counts only; a clue's content is for discipline officers and the referring body's head.",
    )


# ----- 5. delegations -----------------------------------------------------------------------------


def _delegations(ctx: _Context) -> Section:
    s = DELEGATIONS
    in_scope = _items(ctx)
    handled, monthly = _cases_handled(ctx, in_scope)
    per_township = _per_township(in_scope, handled, _review_outcomes(ctx, in_scope))
    totals: Counter[str] = Counter()
    for c in per_township.values():
        totals.update(c)

    figures = [
        _figure(s, "items_in_force", totals["items_in_force"]),
        _figure(s, "townships", sum(1 for c in per_township.values() if c["items_in_force"])),
        _figure(s, "cases_handled", totals["cases_handled"]),
        _figure(s, "items_kept", totals["items_kept"]),
        _figure(s, "items_adjusted", totals["items_adjusted"]),
        _figure(s, "items_revoked", totals["items_revoked"]),
        _figure(s, "items_revoked_early", totals["items_revoked_early"]),
    ]
    tables = [_township_table(per_township), _item_table(in_scope, handled)]
    zh, en = SECTION_TITLES[s]
    return Section(
        key=s,
        zh=zh,
        en=en,
        figures=figures,
        tables=tables,
        series=[ctx.series(s, "cases_handled", dict(monthly))],
        note_zh="在施事项数为统计时的当前状态；办理案件数和评估结果按期间统计。",
        note_en="Items in force are as they stand now; cases handled and review outcomes are the period's.",
    )


def _cases_handled(ctx: _Context, in_scope: dict[str, DelegatedItem]) -> tuple[Counter[str], Counter[str]]:
    """Cases the townships reported handling under the items in scope: per item (its id,
    ``<workflow_id>|<item_code>``) in the period, and by month in the trend months. The item
    comes from the payload, so these are read from the entries, not the monthly counts."""
    handled: Counter[str] = Counter()
    t = q.TIMELINE.c
    item_key = {
        "workflow_id": t.workflow_id,
        "item": q.payload_text("item_code"),
        "activity": q.payload_text("activity"),
    }
    recorded = "power_delegation.item_case_recorded"
    for r in q.grouped(
        ctx.session, item_key, where=q.event_where([recorded], ctx.start, ctx.end), select_from=q.TIMELINE
    ):
        key = f"{r.workflow_id}|{r.item}"
        if r.activity == "handled" and key in in_scope:
            handled[key] += r.n
    monthly: Counter[str] = Counter()
    for r in q.grouped(
        ctx.session,
        {**item_key, "m": ctx.month(t.occurred_at)},
        where=q.event_where([recorded], ctx.trend_start, ctx.trend_end),
        select_from=q.TIMELINE,
    ):
        if r.activity == "handled" and f"{r.workflow_id}|{r.item}" in in_scope:
            monthly[r.m] += r.n
    return handled, monthly


def _review_outcomes(ctx: _Context, in_scope: dict[str, DelegatedItem]) -> dict[str, Counter[str]]:
    """Per township, the items in scope that reviews concluded in the period kept, adjusted or
    revoked, and those the government revoked early (``revoked_early``): one event decides
    several items, so each payload's list is unpacked here."""
    t = q.TIMELINE.c
    reviewed: dict[str, Counter[str]] = defaultdict(Counter)
    for r in q.rows(
        ctx.session,
        {"workflow_id": t.workflow_id, "type": t.type, "payload": t.payload},
        where=q.event_where(
            ["power_delegation.review_concluded", "power_delegation.item_revoked_early"], ctx.start, ctx.end
        ),
        select_from=q.TIMELINE,
    ):
        payload = r.payload or {}
        if r.type == "power_delegation.review_concluded":
            decided = [(x.get("item_code"), x.get("outcome")) for x in payload.get("decisions") or []]
        else:
            decided = [(code, "revoked_early") for code in payload.get("item_codes") or []]
        for code, outcome in decided:
            item = in_scope.get(f"{r.workflow_id}|{code}")
            if item is not None:
                reviewed[item.township][str(outcome)] += 1
    return reviewed


def _per_township(
    in_scope: dict[str, DelegatedItem], handled: Counter[str], reviewed: dict[str, Counter[str]]
) -> dict[str, Counter[str]]:
    """Each township's figures: items in force now, cases handled and review outcomes in the
    period, under the figures' own keys so the table and the totals read them alike."""
    per_township: dict[str, Counter[str]] = defaultdict(Counter)
    for key, item in in_scope.items():
        if item.state in _ITEMS_IN_FORCE:
            per_township[item.township]["items_in_force"] += 1
        per_township[item.township]["cases_handled"] += handled[key]
    for township, c in reviewed.items():
        per_township[township]["items_kept"] += c["keep"]
        per_township[township]["items_adjusted"] += c["adjust"]
        per_township[township]["items_revoked"] += c["revoke"]
        per_township[township]["items_revoked_early"] += c["revoked_early"]
    return per_township


_TOWNSHIP_KEYS = ("label", "items_in_force", "cases_handled", "items_kept", "items_adjusted", "items_revoked")


def _township_table(per_township: dict[str, Counter[str]]) -> Table:
    """Townships with anything to show, most items in force first."""
    township_columns = _columns(DELEGATIONS, _TOWNSHIP_KEYS)
    township_rows = _sorted_rows(
        [
            _agency_row(township, {k: c[k] for k in _TOWNSHIP_KEYS[1:]})
            for township, c in per_township.items()
            if any(c[k] for k in _TOWNSHIP_KEYS[1:])
        ],
        "items_in_force",
    )
    return Table(
        key="by_township",
        zh="按乡镇（街道）",
        en="By township",
        columns=township_columns,
        rows=township_rows,
        total=_total(township_columns, township_rows),
    )


def _item_table(in_scope: dict[str, DelegatedItem], handled: Counter[str]) -> Table:
    """Every item in scope, by township then busiest first, with the period's cases beside the
    item's own running count since it was delegated."""
    item_columns = _columns(
        DELEGATIONS, ("label", "township", "state", "cases_handled", "cases_handled_total")
    )
    item_rows = []
    for key, item in in_scope.items():
        state_zh = ITEM_STATE_LABELS.get(item.state, (item.state, item.state))[0]
        item_rows.append(
            Row(
                key=key,
                label_zh=item.name_zh,
                label_en=item.name_en or item.name_zh,
                values={
                    "label": item.name_zh,
                    "township": agency_label(item.township, "zh"),
                    "state": state_zh,
                    "cases_handled": handled[key],
                    "cases_handled_total": int((item.counters or {}).get("handled", 0)),
                },
            )
        )
    item_rows = sorted(
        item_rows, key=lambda r: (str(r.values["township"]), -int(r.values["cases_handled"] or 0), r.key)
    )
    return Table(
        key="by_item",
        zh="按赋权事项",
        en="By item",
        columns=item_columns,
        rows=item_rows,
        total=_total(item_columns, item_rows),
    )


def _items(ctx: _Context) -> dict[str, DelegatedItem]:
    """Delegated items (a township's scope through the township index). The table holds one row
    per township and catalogue item, so it stays small whatever the number of cases."""
    query = select(DelegatedItem)
    if ctx.agencies is not None:
        query = query.where(col(DelegatedItem.township).in_(sorted(ctx.agencies)))
    return {i.id: i for i in ctx.session.exec(query)}
