"""The console's words, Chinese first and English second.

One table of ``key -> (zh, en)`` rather than gettext catalogues: the console has a few hundred
words, the people who check the Chinese wording read Python as easily as ``.po`` files, and a
missing key fails the unit tests instead of silently showing the key.
"""

from __future__ import annotations

from collections.abc import Callable

from contracts.agencies import get_agency
from contracts.catalog import DOMAIN_EVENT_TYPES, PROCESS_MODULES

PROCESS_LABELS: dict[str, tuple[str, str]] = {
    "case_transfer": ("行刑衔接（案件移送）", "Administrative-to-criminal transfer"),
    "reverse_transfer": ("行刑反向衔接", "Criminal-to-administrative transfer"),
    "jurisdiction_dispute": ("管辖争议协调", "Jurisdiction dispute"),
    "discipline_referral": ("问题线索移送纪检监察", "Discipline referral"),
    "power_delegation": ("赋权乡镇街道", "Delegation to townships"),
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "open": ("进行中", "open"),
    "met": ("已办理", "done"),
    "breached": ("已超期", "breached"),
    "cancelled": ("已取消", "cancelled"),
    "lapsed": ("期满未行使", "lapsed unused"),
    "reminded": ("已提醒", "reminded"),
}

COUNTING_LABELS: dict[str, tuple[str, str]] = {
    "working_days": ("个工作日", "working days"),
    "calendar_days": ("日", "calendar days"),
    "hours": ("小时", "hours"),
    "months": ("个月", "months"),
}

# Where one delegated power item stands (contracts.power_delegation.ItemState).
ITEM_STATE_LABELS: dict[str, tuple[str, str]] = {
    "granted": ("已赋权，待乡镇承接", "granted, awaiting acceptance"),
    "pending_effect": ("已承接，待生效", "accepted, not yet in effect"),
    "active": ("乡镇行使中", "exercised by the township"),
    "under_review": ("评估中", "under review"),
    "returning": ("已收回，待移交在办案件", "revoked, cases being handed back"),
    "returned": ("已退回原部门", "returned to the department"),
}

# Why an agency is told (services.notifier.messages.Reason).
REASON_LABELS: dict[str, tuple[str, str]] = {
    "act": ("须办理", "Action required"),
    "supervise": ("监督", "Supervision"),
    "coordinate": ("协调", "Coordination"),
    "inform": ("知悉", "For information"),
}

# Field names of referral content (the clue's payload), shown to the need-to-know circle.
CONTENT_LABELS: dict[str, tuple[str, str]] = {
    "source": ("线索来源", "Source"),
    "clue_no": ("线索编号", "Clue no."),
    "officials": ("涉及人员", "Officials"),
    "misconduct": ("问题类型", "Misconduct"),
    "allegation": ("问题描述", "Allegation"),
    "evidence": ("证据材料", "Evidence"),
    "commission": ("纪检监察机关", "Commission"),
    "managing_level": ("管理层级", "Managing level"),
    "referral_letter_no": ("移送函文号", "Referral letter no."),
    "attachments": ("附件", "Attachments"),
    "disposition": ("处置方式", "Disposition"),
    "outcome": ("处置结果", "Outcome"),
    "reason": ("理由", "Reason"),
    "note": ("说明", "Note"),
}

WORDS: dict[str, tuple[str, str]] = {
    "app": ("日照行政执法协同平台", "Lawlink console"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误", "Wrong username or password"),
    "login_throttled": (
        "登录失败次数过多，请稍后再试",
        "Too many failed sign-ins; please wait a while and try again",
    ),
    "language": ("语言", "Language"),
    "cases": ("案件", "Cases"),
    "inbox": ("待协调争议", "Dispute inbox"),
    "dashboard": ("运行监控", "Dashboard"),
    "my_agency": ("本机关待办", "My agency"),
    "audit": ("审计日志", "Audit log"),
    "users": ("用户管理", "Users"),
    "process": ("流程", "Process"),
    "case_id": ("案件编号", "Case"),
    "title": ("标题", "Title"),
    "state": ("状态", "State"),
    "agency": ("机关", "Agency"),
    "parties": ("当事机关", "Parties"),
    "updated": ("更新时间", "Updated"),
    "opened": ("开始时间", "Opened"),
    "no_cases": ("暂无案件", "No cases"),
    "temporal_link": ("在 Temporal 中查看工作流", "Workflow in the Temporal UI"),
    "timeline": ("时间线", "Timeline"),
    "timeline_table": ("时间线明细", "Timeline, as a table"),
    "deadlines": ("时限", "Deadlines"),
    "open_deadlines": ("未届满时限", "Open deadlines"),
    "rule": ("规则", "Rule"),
    "party": ("责任方", "Party"),
    "due": ("届满", "Due"),
    "status": ("状态", "Status"),
    "time": ("发生时间", "Happened"),
    "recorded_at": ("记录时间", "Recorded"),
    "trace": ("追踪编号", "Trace"),
    "counts_from": ("起算", "from"),
    "met_late": ("逾期{late}完成", "done {late} late"),
    "late_days": ("{n}天", "{n} days"),
    "late_hours": ("{n}小时", "{n} hours"),
    "breach_withdrawn": ("按时完成（迟报，超期记录撤回）", "done in time, reported late (breach withdrawn)"),
    "event": ("事件", "Event"),
    "actor": ("主体", "Actor"),
    "system": ("系统", "system"),
    "provisional": ("暂定（当年节假日未公布）", "provisional (holiday schedule not yet published)"),
    "days_left": ("剩余", "Left"),
    "overdue": ("已超期", "Overdue"),
    "due_today": ("今日届满", "Due today"),
    "working_days_left": ("个工作日", "working days"),
    "calendar_days_left": ("天", "days"),
    "hours_left": ("小时", "hours"),
    "current_state": ("当前状态", "Current state"),
    "closed": ("已办结", "closed"),
    "filter": ("筛选", "Filter"),
    "all": ("全部", "all"),
    "only_overdue": ("仅超期", "overdue only"),
    "search_case": ("按案件编号搜索", "Search by case id"),
    "claim": ("认领", "Claim"),
    "unclaim": ("退回认领", "Release"),
    "claimed_by": ("认领人", "Claimed by"),
    "unclaimed": ("未认领", "unclaimed"),
    "summary": ("争议概要", "Summary"),
    "no_disputes": ("暂无待协调争议", "No disputes need a decision"),
    "claims": ("各方主张", "Claims"),
    "position": ("主张", "Position"),
    "claims_it": ("主张管辖", "claims it"),
    "declines_it": ("认为无管辖权", "declines it"),
    "legal_basis": ("法律依据", "Legal basis"),
    "reasons": ("理由", "Reasons"),
    "filed_on": ("立案日期", "Filed on"),
    "not_filed": ("未立案", "not filed"),
    "first_to_file": ("“最先立案”规则建议", "First-to-file suggestion"),
    "opinions": ("已收到的书面意见", "Opinions received"),
    "no_opinions": ("尚未收到书面意见", "No opinions yet"),
    "request_opinions": ("征求书面意见", "Request opinions"),
    "due_date": ("截止日期", "Due date"),
    "note": ("说明", "Note"),
    "extend": ("延长期限（仅一次）", "Extend (once)"),
    "working_days": ("工作日数", "Working days"),
    "reason": ("理由", "Reason"),
    "designate": ("指定管辖", "Designate"),
    "designated_agency": ("被指定机关", "Designated agency"),
    "refer": ("报请政府决定", "Refer to the government"),
    "interim": ("指定临时处置机关", "Name an interim agency"),
    "measures": ("紧急措施", "Urgent measures"),
    "submit": ("提交", "Submit"),
    "refused": ("操作未执行", "Not done"),
    "action_sent": ("已提交，页面将随事件更新", "Sent; the page updates as the events arrive"),
    "dispute": ("管辖争议", "Jurisdiction dispute"),
    "open_dispute_page": ("打开争议处理页", "Open the dispute page"),
    "counts": ("各流程案件数", "Cases by process and state"),
    "due_today_list": ("今日届满", "Due today"),
    "due_week_list": ("本周届满", "Due this week"),
    "breached_by_agency": ("各机关超期数", "Breached deadlines by agency"),
    "events_per_hour": ("每小时事件数（近24小时）", "Events per hour (last 24 h)"),
    "dead_letters": ("死信（无法投递的消息）", "Dead letters"),
    "no_dead_letters": ("暂无死信", "No dead letters"),
    "replay": ("重新投递", "Replay"),
    "replayed": ("已重投次数", "Replays"),
    "subject": ("主题", "Subject"),
    "deliveries": ("投递次数", "Deliveries"),
    "last_error": ("最后错误", "Last error"),
    "count": ("数量", "Count"),
    "none": ("无", "none"),
    "what_next": ("下一步：须在期限内完成", "What you must do next, and by when"),
    "nothing_due": ("本机关暂无待办时限", "Nothing is due from your agency"),
    "your_cases": ("本机关案件", "Your agency's cases"),
    "confidential": (
        "涉密：仅纪检监察人员和移送机关负责人可查看内容",
        "Confidential: content only for discipline officers and the referring agency's head",
    ),
    "content": ("线索内容", "Referral content"),
    "content_unavailable": (
        "内容存于加密存储，当前无法读取",
        "The content is in the encrypted store and cannot be read now",
    ),
    "forbidden": ("无权访问", "Forbidden"),
    "forbidden_text": (
        "本次访问已记录。",
        "The attempt was recorded.",
    ),
    "not_found": ("未找到", "Not found"),
    "who": ("用户", "Who"),
    "what": ("操作", "What"),
    "target": ("对象", "Target"),
    "from_where": ("来源地址", "From"),
    "outcome": ("结果", "Outcome"),
    "detail": ("详情", "Detail"),
    "role": ("角色", "Role"),
    "display_name": ("姓名", "Name"),
    "is_head": ("机关负责人", "Agency head"),
    "add_user": ("新增用户", "Add user"),
    "live": ("实时更新", "Live"),
    "legend": ("图例", "Legend"),
    "legend_step": ("流程阶段", "step"),
    "legend_event": ("事件", "event"),
    "legend_deadline": ("时限", "deadline"),
    "legend_breach": ("超期", "breach"),
    "now": ("现在", "now"),
    "kind": ("类型", "Kind"),
    "positive": ("积极争议（多方争管）", "positive (several claim it)"),
    "negative": ("消极争议（无人管辖）", "negative (none will take it)"),
    "request_id": ("请求编号", "Request id"),
    "bad_input": ("输入有误", "Bad input"),
    "notifications": ("通知", "Notifications"),
    "unread": ("未读", "unread"),
    "read": ("已读", "read"),
    "mark_read": ("标为已读", "Mark read"),
    "mark_all_read": ("全部标为已读", "Mark all read"),
    "only_unread": ("仅未读", "unread only"),
    "no_notifications": ("暂无通知", "No notifications"),
    "no_agency_bound": (
        "您的账户未绑定机关；请选择要查看的机关。",
        "Your account is bound to no agency; pick one to look at.",
    ),
    "notification_reason": ("类别", "Kind"),
    "what_to_do": ("须办事项", "What to do"),
    "received_at": ("收到时间", "Received"),
    "marked_read": ("已标为已读", "Marked read"),
    "digest": ("每日提醒", "Daily digest"),
    "digest_of": ("每日提醒：今日届满与已超期", "Daily digest: due today and overdue"),
    "digest_day": ("日期", "Day"),
    "overdue_list": ("已超期", "Overdue"),
    "supervising_list": ("本机关监督的超期事项", "Overdue deadlines this agency supervises"),
    "pick_agency": ("选择机关", "Pick an agency"),
    "show": ("查看", "Show"),
    "townships": ("赋权乡镇", "Townships"),
    "township": ("乡镇（街道）", "Township"),
    "delegated_items": ("赋权事项", "Delegated items"),
    "item_code": ("事项编码", "Code"),
    "item_name": ("事项名称", "Item"),
    "original_department": ("原行使部门", "Original department"),
    "item_state": ("事项状态", "Item state"),
    "effective_at": ("生效日期", "In effect from"),
    "next_review": ("下次评估日期", "Next review"),
    "activity": ("办案情况", "Activity"),
    "handled": ("办理", "handled"),
    "refused_cases": ("不予处罚/受理", "refused"),
    "overturned": ("被撤销变更", "overturned"),
    "complaint": ("投诉举报", "complaints"),
    "delegation": ("赋权文件", "Delegation"),
    "no_items": ("暂无赋权事项", "No delegated items"),
    "items_total": ("事项数", "Items"),
    "include_returned": ("含已退回事项", "include returned items"),
    "open_township_page": ("查看乡镇赋权事项", "Delegated items of the township"),
    "days_to_review": ("距评估", "to review"),
    "days": ("天", "days"),
    "district": ("所属区县", "District"),
    "bell_label": ("未读通知", "unread notifications"),
    "end_of_day": ("当日结束前", "by end of day"),
    "counting_working_days": ("按工作日计算", "working days"),
    "counting_calendar_days": ("按日历日计算", "calendar days"),
    "counting_hours": ("按小时计算", "hours"),
    "counting_months": ("按月计算", "months"),
    # Supervision statistics.
    "statistics": ("监督统计", "Statistics"),
    "statistics_of": ("行政执法监督统计", "Law-enforcement supervision statistics"),
    "period": ("统计期间", "Period"),
    "period_month": ("月度", "Month"),
    "period_quarter": ("季度", "Quarter"),
    "period_year": ("年度", "Year"),
    "period_custom": ("自定义", "Custom"),
    "stat_month": ("月份", "Month"),
    "stat_quarter": ("季度", "Quarter"),
    "stat_year": ("年份", "Year"),
    "date_from": ("起始日期", "From"),
    "date_to": ("截止日期（含）", "To (included)"),
    "stat_district": ("区县", "District"),
    "whole_city": ("全市", "Whole city"),
    "all_agencies": ("全部机关", "All agencies"),
    "export_xlsx": ("导出 Excel（每部分一个工作表）", "Excel (one sheet per section)"),
    "export_csv": ("CSV", "CSV"),
    "print_report": ("打印报表", "Printable report"),
    "back_to_statistics": ("返回统计页", "Back to statistics"),
    "trend": ("月度趋势", "Monthly trend"),
    "trend_rates": ("月度比率趋势", "Monthly rates"),
    "chart_top": ("图中为前{n}项，表中为全部", "the chart shows the top {n}, the table all"),
    "definition": ("口径", "Definition"),
    "no_figures": ("本期间无数据", "No figures for this period"),
    "generated_at": ("生成时间", "Generated"),
    "report_by": ("报送单位", "Reported by"),
    "report_month": (
        "{place}行政执法监督统计月报（{period}）",
        "{place}: law-enforcement supervision, monthly report ({period})",
    ),
    "report_quarter": (
        "{place}行政执法监督统计季报（{period}）",
        "{place}: law-enforcement supervision, quarterly report ({period})",
    ),
    "report_year": (
        "{place}行政执法监督统计年报（{period}）",
        "{place}: law-enforcement supervision, annual report ({period})",
    ),
    "report_custom": (
        "{place}行政执法监督统计报告（{period}）",
        "{place}: law-enforcement supervision report ({period})",
    ),
}


def word(key: str, lang: str) -> str:
    """The word for ``key`` in ``lang``; an unknown key raises, so a typo fails a test."""
    zh, en = WORDS[key]
    return zh if lang == "zh" else en


def pick(pair: tuple[str, str] | None, lang: str, fallback: str = "") -> str:
    """One side of a (zh, en) pair."""
    if pair is None:
        return fallback
    return pair[0] if lang == "zh" else pair[1]


def _state_labels() -> dict[str, dict[str, tuple[str, str]]]:
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for module in PROCESS_MODULES:
        labels = getattr(module, "STATE_LABELS", None)
        process = getattr(module, "PROCESS", None)
        if process and isinstance(labels, dict):
            out[process] = {str(k): v for k, v in labels.items()}
    return out


# The console's own words for processes whose contracts module names no STATE_LABELS yet; a
# module's own labels win (see _state_labels), so these only fill gaps.
CONSOLE_STATE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "case_transfer": {
        "opened": ("已发现涉嫌犯罪", "crime suspected"),
        "team_formed": ("已组成专案组", "team formed"),
        "reported": ("已报请负责人审批", "report submitted"),
        "approved": ("已批准移送", "transfer approved"),
        "transferred": ("已移送公安机关", "transferred to police"),
        "forwarding": ("公安机关转送中", "being forwarded"),
        "received": ("公安机关已接收", "received by police"),
        "police_refused": ("公安机关不予立案", "police refused"),
        "reconsideration": ("复议中", "reconsideration"),
        "refusal_upheld": ("维持不予立案", "refusal upheld"),
        "supervision": ("检察监督中", "under supervision"),
        "explained": ("公安机关已说明理由", "police explained"),
        "filing_ordered": ("检察机关通知立案", "filing ordered"),
        "refusal_final": ("不予立案已确定", "refusal final"),
        "filed": ("公安机关已立案", "filed by police"),
        "materials_handed_over": ("涉案物品已移交", "materials handed over"),
        "refused_by_head": ("负责人不批准移送", "refused by the head"),
        "concluded": ("已办结", "concluded"),
        "administrative_closed": ("行政处理已结案", "administrative case closed"),
        "returned_for_penalty": ("退回行政处罚", "returned for penalty"),
    },
    "discipline_referral": {
        "proposed": ("待司法局确认", "proposed"),
        "identified": ("待负责人审批", "awaiting approval"),
        "approved": ("已批准移送", "approved"),
        "declined": ("不予移送", "declined"),
        "dismissed": ("不予确认", "dismissed"),
        "referred": ("已移送纪检监察机关", "referred"),
        "received": ("纪检监察机关已签收", "received"),
        "forward_pending": ("待转送", "forward pending"),
        "forwarded": ("已转送", "forwarded"),
        "returned": ("已退回", "returned"),
        "rectifying": ("整改中", "rectifying"),
        "rectified": ("已整改", "rectified"),
        "concluded": ("已办结", "concluded"),
    },
    "power_delegation": {
        "granted": ("已赋权，待乡镇承接", "granted"),
        "accepted": ("已承接，待生效", "accepted"),
        "active": ("乡镇行使中", "active"),
        "under_review": ("评估中", "under review"),
        "assessed": ("评估完成，待决定", "assessed"),
        "returning": ("收回事项移交中", "returning"),
        "ended": ("已终止", "ended"),
    },
}


def _merged_states() -> dict[str, dict[str, tuple[str, str]]]:
    out = {p: dict(labels) for p, labels in CONSOLE_STATE_LABELS.items()}
    for process, labels in _state_labels().items():
        out.setdefault(process, {}).update(labels)
    return out


_STATES = _merged_states()


GENERIC_STATES: dict[str, tuple[str, str]] = {"new": ("新建", "new"), "closed": ("已办结", "closed")}


def state_label(process: str, state: str, lang: str) -> str:
    """A process state in words, when the process module names its states."""
    return pick(_STATES.get(process, {}).get(state) or GENERIC_STATES.get(state), lang, state)


def process_label(process: str, lang: str) -> str:
    """A process in words."""
    return pick(PROCESS_LABELS.get(process), lang, process)


def event_label(event_type: str, lang: str) -> str:
    """An event type in words (inbound and domain types alike)."""
    spec = DOMAIN_EVENT_TYPES.get(event_type)
    if spec is None:
        return event_type
    return spec.label_zh if lang == "zh" else spec.label_en


def agency_label(agency_id: str | None, lang: str) -> str:
    """An agency's name in ``lang``; unknown ids are shown as they are."""
    if not agency_id:
        return "—"
    agency = get_agency(agency_id)
    if agency is None:
        return agency_id
    return agency.name_zh if lang == "zh" else agency.name_en


def translator(lang: str) -> Callable[[str], str]:
    """``t(key)`` for templates."""
    return lambda key: word(key, lang)
