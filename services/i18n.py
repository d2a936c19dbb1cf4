"""Lawlink's words, Chinese first and English second: the console's pages, the statistics and
their exports, and the rule book say every label and message from this one table.

One table of ``key -> (zh, en)`` rather than gettext catalogues: the console has a few hundred
words, the people who check the Chinese wording read Python as easily as ``.po`` files, and a
missing key fails the unit tests instead of silently showing the key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from contracts.agencies import KIND_LABELS, get_agency
from contracts.catalog import DEFINITIONS, DOMAIN_EVENT_TYPES
from contracts.notifications import REASON_LABELS as NOTIFY_REASON_LABELS
from services.due_words import due_words

# A process's name and its states' names come from its definition (contracts/<process>.py).
PROCESS_LABELS: dict[str, tuple[str, str]] = {p.name: (p.label_zh, p.label_en) for p in DEFINITIONS}

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

# Why an agency is told.
REASON_LABELS: dict[str, tuple[str, str]] = {str(r): v for r, v in NOTIFY_REASON_LABELS.items()}

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
    "reassign": ("改派", "Reassign"),
    "reassign_to": ("改派给", "Reassign to"),
    "written_reasons": ("书面理由与说明", "Written reasons and notes"),
    "suggested_agency": ("建议管辖机关", "Suggested agency"),
    "nothing_to_decide": ("当前没有可办理的操作", "Nothing can be decided now"),
    "other_agencies": (
        "其他机关（由共同上级人民政府指定）",
        "Other agencies (designated by the common superior)",
    ),
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
    "drawn_partly": (
        "本案记录较多：时间线图、案件情况和书面理由取自最早的 {n} 条记录，下表分页列出全部记录",
        "A long case: the drawing, the facts and the written reasons come from its first {n} entries; the table below pages through all of them",
    ),
    "replayed_n": ("已重新投递 {n} 条死信", "{n} dead letter(s) replayed"),
    "replay_failed_for": ("以下死信重投失败：{ids}", "Replay failed for {ids}"),
    "replay_confirm_missing": ("未重投：请先勾选确认", "Nothing replayed: tick the confirmation first"),
    "show_replayed_too": ("显示已重投的死信", "Show replayed letters too"),
    "show_pending_only": ("只显示未重投的死信", "Show letters not yet replayed only"),
    "select": ("选择", "Select"),
    "select_letter": ("选择死信 #{id}", "Select dead letter #{id}"),
    "event_type": ("事件类型", "Event type"),
    "letter_body": ("消息内容", "Message"),
    "letter_body_sealed": ("保密内容，不予显示", "Confidential, not shown"),
    "show_letter_body": ("查看 #{id} 的消息内容", "Show the message of #{id}"),
    "replay_confirm_one": ("确认重新投递 #{id}", "Yes, replay #{id}"),
    "replay_letter": ("重新投递 #{id}", "Replay #{id}"),
    "replay_confirm_selected": ("确认重新投递所选死信", "Yes, replay the selected letters"),
    "replay_selected": ("重新投递所选", "Replay selected"),
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
    # The yearly review's decision form (routes_reviews).
    "review_decide": ("作出评估决定", "Decide the review"),
    "review_of": ("赋权评估决定", "Delegation review decision"),
    "review_cycle": ("第 {n} 轮评估", "review cycle {n}"),
    "review_started_on": ("评估启动于", "review started on"),
    "review_deciders": ("评估决定机关", "decided by"),
    "review_document_no": ("评估决定文号", "Decision document no. (文号)"),
    "review_items": ("评估中的事项", "Items under review"),
    "review_period_activity": ("上次评估以来办案情况", "Cases since the last review"),
    "current_scope": ("现实施范围", "Current scope"),
    "scope_unlimited": ("未限定", "not limited"),
    "no_items_under_review": ("没有评估中的事项", "No item is under review"),
    "cannot_decide": ("不能作出评估决定", "You cannot decide this review"),
    "new_scope_hint": ("调整后的实施范围（选择“调整”时填写）", "New scope (when adjusting)"),
    "revoke_reason_hint": ("收回理由（选择“收回”时填写）", "Reason (when revoking)"),
    "submit_review": ("提交评估决定", "Submit the decision"),
    "review_sent": (
        "评估决定已提交，页面将随事件更新",
        "Review decision sent; the page updates as the events arrive",
    ),
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
    # The admin's accounts page.
    "account_active": ("在用", "Active"),
    "account_disabled": ("已停用", "Disabled"),
    "account_state": ("账户状态", "Account"),
    "account_actions": ("管理", "Manage"),
    "edit_account": ("修改账户 {who}", "Change account {who}"),
    "save_account": ("保存 {who} 的修改", "Save changes to {who}"),
    "new_password": ("新密码", "New password"),
    "set_password": ("为 {who} 设置新密码", "Set a new password for {who}"),
    "done_users_add": ("已新增用户 {who}", "Account {who} added"),
    "done_users_edit": ("已保存 {who} 的修改", "Changes to {who} saved"),
    "done_users_password": (
        "已为 {who} 设置新密码，其已登录的会话均已退出",
        "New password set for {who}; their sessions were ended",
    ),
}


# Pydantic's error types (pydantic_core.core_schema.ErrorType) in words; ``{...}`` are the
# error's ``ctx``. One table for every console form, so a bad value reads the same everywhere.
VALIDATION_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("必填", "is required"),
    "extra_forbidden": ("不是可填写的项目", "is not a field of this form"),
    "greater_than": ("须大于 {gt}", "must be greater than {gt}"),
    "greater_than_equal": ("须不小于 {ge}", "must be at least {ge}"),
    "less_than": ("须小于 {lt}", "must be less than {lt}"),
    "less_than_equal": ("须不大于 {le}", "must be at most {le}"),
    "multiple_of": ("须为 {multiple_of} 的倍数", "must be a multiple of {multiple_of}"),
    "finite_number": ("须为有限数值", "must be a finite number"),
    "too_short": ("至少须有 {min_length} 项", "needs at least {min_length} item(s)"),
    "too_long": ("至多 {max_length} 项", "allows at most {max_length} item(s)"),
    "string_too_short": ("至少须填写 {min_length} 个字", "needs at least {min_length} character(s)"),
    "string_too_long": ("不得超过 {max_length} 个字", "allows at most {max_length} characters"),
    "string_pattern_mismatch": ("格式不正确", "is not in the expected format"),
    "string_not_ascii": ("只能使用英文字母、数字和符号", "must use ASCII characters only"),
    "string_unicode": ("含有无效字符", "contains invalid characters"),
    "enum": ("须为以下之一：{expected}", "must be one of: {expected}"),
    "literal_error": ("须为以下之一：{expected}", "must be one of: {expected}"),
    "bool_parsing": ("须为“是”或“否”", "must be yes or no"),
    "int_parsing": ("须为整数", "must be a whole number"),
    "int_parsing_size": ("数值过大", "is too large a number"),
    "int_from_float": ("须为整数，不能有小数", "must be a whole number, without decimals"),
    "float_parsing": ("须为数字", "must be a number"),
    "decimal_parsing": ("须为数字", "must be a number"),
    "decimal_max_digits": ("至多 {max_digits} 位数字", "allows at most {max_digits} digits"),
    "decimal_max_places": ("至多 {decimal_places} 位小数", "allows at most {decimal_places} decimal places"),
    "decimal_whole_digits": (
        "整数部分至多 {whole_digits} 位",
        "allows at most {whole_digits} digits before the point",
    ),
    "date_parsing": ("须为日期（年-月-日）", "must be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": ("须为日期（年-月-日）", "must be a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": ("须为日期，不含时刻", "must be a date without a time of day"),
    "date_past": ("须为过去的日期", "must be a date in the past"),
    "date_future": ("须为将来的日期", "must be a date in the future"),
    "time_parsing": ("须为时刻（时:分）", "must be a time (HH:MM)"),
    "datetime_parsing": ("须为日期和时刻", "must be a date and time"),
    "datetime_from_date_parsing": ("须为日期和时刻", "must be a date and time"),
    "datetime_object_invalid": ("日期时刻无效", "is not a valid date and time"),
    "datetime_past": ("须为过去的时刻", "must be in the past"),
    "datetime_future": ("须为将来的时刻", "must be in the future"),
    "timezone_naive": ("不得带时区", "must not carry a time zone"),
    "timezone_aware": ("须带时区", "must carry a time zone"),
    "timezone_offset": ("时区不正确", "has the wrong time zone"),
    "time_delta_parsing": ("须为时长", "must be a duration"),
    "url_parsing": ("须为网址", "must be a URL"),
    "url_syntax_violation": ("网址格式不正确", "is not a well-formed URL"),
    "url_too_long": ("网址过长（至多 {max_length} 个字符）", "is too long a URL (at most {max_length})"),
    "url_scheme": ("网址协议须为 {expected_schemes}", "must be a URL of scheme {expected_schemes}"),
    "uuid_parsing": ("须为 UUID", "must be a UUID"),
    "uuid_version": ("UUID 版本不正确", "has the wrong UUID version"),
    "bytes_too_short": ("至少 {min_length} 字节", "needs at least {min_length} bytes"),
    "bytes_too_long": ("至多 {max_length} 字节", "allows at most {max_length} bytes"),
    "bytes_invalid_encoding": ("编码无效", "has an invalid encoding"),
    "json_invalid": ("不是有效的 JSON", "is not valid JSON"),
    "value_error": ("取值无效", "is not a valid value"),
    "assertion_error": ("取值无效", "is not a valid value"),
    "union_tag_invalid": ("类别不正确", "has an unknown kind"),
    "union_tag_not_found": ("缺少类别", "names no kind"),
    "frozen_field": ("不能修改", "cannot be changed"),
    "frozen_instance": ("不能修改", "cannot be changed"),
    "none_required": ("须留空", "must be empty"),
    "complex_str_parsing": ("须为复数", "must be a complex number"),
    "fraction_parsing": ("须为分数", "must be a fraction"),
    "set_item_not_hashable": ("含有无法比较的项", "holds an item that cannot be compared"),
    "recursion_loop": ("数据循环引用", "refers to itself"),
    "recursion_depth_exceeded": ("数据嵌套过深", "is nested too deeply"),
    "iteration_error": ("无法逐项读取", "cannot be read item by item"),
    "missing_sentinel_error": ("必填", "is required"),
    "ellipsis_error": ("取值无效", "is not a valid value"),
    "default_factory_not_called": ("无法取得默认值", "has no default here"),
    "get_attribute_error": ("无法读取", "cannot be read"),
    "no_such_attribute": ("不是可填写的项目", "is not a field of this form"),
    "invalid_key": ("键名无效", "has an invalid key"),
    "needs_python_object": ("类型不正确", "has the wrong type"),
}
# Type errors (a value of the wrong kind: text where a list belongs...) and argument errors
# say the same thing; a form never sends them unless tampered with.
VALIDATION_MESSAGES.update(
    dict.fromkeys(
        (
            "json_type",
            "model_type",
            "model_attributes_type",
            "dataclass_type",
            "dataclass_exact_type",
            "named_tuple_type",
            "iterable_type",
            "string_type",
            "dict_type",
            "frozen_dict_type",
            "ordered_dict_type",
            "counter_type",
            "mapping_type",
            "list_type",
            "deque_type",
            "tuple_type",
            "set_type",
            "frozen_set_type",
            "bool_type",
            "int_type",
            "float_type",
            "bytes_type",
            "date_type",
            "time_type",
            "datetime_type",
            "time_delta_type",
            "is_instance_of",
            "is_subclass_of",
            "callable_type",
            "url_type",
            "uuid_type",
            "decimal_type",
            "fraction_type",
            "complex_type",
        ),
        ("类型不正确", "has the wrong type"),
    )
)
VALIDATION_MESSAGES.update(
    dict.fromkeys(
        (
            "arguments_type",
            "missing_argument",
            "unexpected_keyword_argument",
            "missing_keyword_only_argument",
            "unexpected_positional_argument",
            "missing_positional_only_argument",
            "multiple_argument_values",
        ),
        ("参数不正确", "has wrong arguments"),
    )
)

# The fields of the console's forms (and of the decisions' inputs, which name them in refusals).
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "coordinator": ("协调人", "Coordinator"),
    "coordinator_name": ("协调人姓名", "Coordinator's name"),
    "coordinator_agency": ("协调人所属机关", "Coordinator's agency"),
    "request_id": ("请求编号", "Request id"),
    "agencies": ("被征求意见的争议方", "Parties asked"),
    "due_date": ("截止日期", "Due date"),
    "note": ("说明", "Note"),
    "working_days": ("工作日数", "Working days"),
    "reason": ("理由", "Reason"),
    "agency": ("机关", "Agency"),
    "measures": ("紧急措施", "Urgent measures"),
    "to_coordinator": ("接手的协调人", "New coordinator"),
    "to_coordinator_name": ("接手的协调人姓名", "New coordinator's name"),
    "as_admin": ("由管理员改派", "Reassigned by an administrator"),
    "state": ("争议状态", "Dispute state"),
    "case_id": ("案件编号", "Case"),
    "action": ("操作", "Action"),
    "temporal": ("工作流服务", "Workflow service"),
    "extension": ("延长期限", "Extension"),
    "form": ("表单", "Form"),
    # Query parameters of the statistics, notification and list pages.
    "kind": ("期间类型", "Period kind"),
    "period": ("统计期间", "Period"),
    "from": ("起始日期", "From"),
    "to": ("截止日期", "To"),
    "month": ("月份", "Month"),
    "quarter": ("季度", "Quarter"),
    "year": ("年份", "Year"),
    "custom": ("自定义期间", "Custom period"),
    "district": ("区县", "District"),
    "section": ("统计部分", "Section"),
    "table": ("统计表", "Table"),
    "id": ("编号", "Id"),
    "ids": ("所选编号", "Selected ids"),
    "agency_id": ("机关编号", "Agency id"),
    "username": ("用户名", "Username"),
    "role": ("角色", "Role"),
    "password": ("密码", "Password"),
    "lang": ("界面语言", "Language"),
    "page": ("页码", "Page"),
    "per_page": ("每页条数", "Per page"),
    "sort": ("排序列", "Sort by"),
    "order": ("排序方向", "Order"),
    "due_after": ("届满日期不早于", "Due on or after"),
    "due_before": ("届满日期不晚于", "Due on or before"),
    "overdue": ("仅看超期", "Overdue only"),
    "process": ("流程", "Process"),
    "format": ("导出格式", "Export format"),
    "q": ("搜索", "Search"),
    "date_from": ("起始日期", "From"),
    "date_to": ("截止日期", "To"),
    "view": ("视图", "View"),
    "dl_pending": ("仅未重投", "Not replayed only"),
    "today_page": ("今日届满页码", "Due today: page"),
    "today_per_page": ("今日届满每页条数", "Due today: per page"),
    "week_page": ("本周届满页码", "Due this week: page"),
    "week_per_page": ("本周届满每页条数", "Due this week: per page"),
    "dl_page": ("死信页码", "Dead letters: page"),
    "dl_per_page": ("死信每页条数", "Dead letters: per page"),
    # The review decision's input (contracts.power_delegation.ReviewDecisionIn) and its form.
    "decision_id": ("决定编号", "Decision id"),
    "reviewer": ("评估决定机关", "Reviewer"),
    "document_no": ("文号", "Document no."),
    "decisions": ("逐项决定", "Decisions"),
    "item": ("赋权事项", "Item"),
    "item_code": ("事项编码", "Item code"),
    "outcome": ("评估结论", "Outcome"),
    "new_scope": ("调整后的实施范围", "New scope"),
    "review_state": ("评估状态", "Review state"),
}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "…"


def field_label(name: str, lang: str) -> str:
    """A form field by its label (unknown fields as they are named)."""
    return pick(FIELD_LABELS.get(name), lang, name)


def validation_message(error_type: str, ctx: dict[str, object] | None, lang: str, fallback: str = "") -> str:
    """One pydantic error in words; ``fallback`` (pydantic's own text) only for a type pydantic
    adds after this table was written."""
    pair = VALIDATION_MESSAGES.get(error_type)
    if pair is None:
        return fallback or error_type
    values = _Blank({k: str(v) for k, v in (ctx or {}).items()})
    return pick(pair, lang).format_map(values)


def due_text(due_at: datetime | None, counting: str | None, lang: str) -> str:
    """When a deadline falls due, in the notifier's and digest's own words (one formatter)."""
    if due_at is None:
        return "—"
    return pick(due_words(due_at, counting), lang)


@pass_context
def _due_filter(context: Context, due_at: datetime | None, counting: str | None = None) -> str:
    return due_text(due_at, counting, str(context.get("lang") or "zh"))


def install_filters(env: Environment) -> None:
    """Register the console's wording filters on a Jinja environment: ``due_at|due_text(counting)``."""
    env.filters["due_text"] = _due_filter


# Values of the contracts' enums (by enum class name), where a payload or a table shows them.
ENUM_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "AgencyKind": {str(k): v for k, v in KIND_LABELS.items()},
    "Counting": dict(COUNTING_LABELS),
    "Reason": dict(REASON_LABELS),
    "Audience": {
        "agency_officer": ("执法机关工作人员", "agency officers"),
        "coordinator": ("协调人员", "coordinators"),
        "discipline_officer": ("纪检监察人员", "discipline officers"),
    },
    "Nature": {
        "duty": ("法定职责期限（逾期即超期）", "duty (late is a breach)"),
        "window": ("权利行使期限（期满失效）", "window (lapses unused)"),
        "reminder": ("提醒（无法定时限）", "reminder (no statutory limit)"),
    },
    "AgencyLevel": {
        "province": ("省级", "province"),
        "city": ("市级", "city"),
        "district": ("区县级", "district"),
        "township": ("乡镇级", "township"),
    },
    "HeadDecision": {"approve": ("批准移送", "approve"), "refuse": ("不批准移送", "refuse")},
    "PoliceDecision": {"file": ("立案", "file"), "refuse": ("不予立案", "refuse")},
    "ReconsiderationOutcome": {"file": ("改为立案", "file"), "uphold": ("维持不予立案", "uphold")},
    "CriminalOutcome": {
        "prosecuted": ("提起公诉", "prosecuted"),
        "not_prosecuted": ("不起诉", "not prosecuted"),
        "case_dismissed": ("撤销案件", "case dismissed"),
        "judgment": ("作出判决", "judgment"),
    },
    "AttachmentKind": {
        "transfer_letter": ("移送书", "transfer letter"),
        "investigation_report": ("调查报告", "investigation report"),
        "item_list": ("涉案物品清单", "list of items"),
        "expert_report": ("检验鉴定意见", "expert report"),
        "penalty_decision": ("行政处罚决定书", "penalty decision"),
        "decision": ("决定书", "decision"),
        "opinion": ("意见书", "opinion"),
        "evidence": ("证据材料", "evidence"),
        "other": ("其他", "other"),
    },
    "DeadlineStatus": {k: v for k, v in STATUS_LABELS.items()},
    "ClueSource": {
        "special_rectification": ("专项整治", "special rectification"),
        "case_file_review": ("案卷评查", "case-file review"),
        "hotline_complaint": ("12345热线投诉", "12345 hotline complaint"),
        "court_judgment": ("法院判决撤销或确认违法", "court judgment"),
        "case_transfer_escalation": ("行刑衔接逾期未移送", "overdue case transfer"),
        "other": ("其他", "other"),
    },
    "MisconductKind": {
        "abuse_of_power": ("滥用职权", "abuse of power"),
        "neglect_of_duty": ("玩忽职守、不作为", "neglect of duty"),
        "favouritism": ("徇私舞弊（以罚代刑、不移送）", "favouritism (a fine instead of a transfer)"),
        "other": ("其他", "other"),
    },
    "ManagingLevel": {"city": ("市管干部", "city-managed"), "district": ("区县管干部", "district-managed")},
    "Disposition": {
        "talk_or_letter_inquiry": ("谈话函询", "talk or letter inquiry"),
        "preliminary_verification": ("初步核实", "preliminary verification"),
        "held_for_later": ("暂存待查", "held for later"),
        "closed": ("予以了结", "closed"),
    },
    "EntryKind": {
        "received": ("收到的事件", "received"),
        "step": ("流程步骤", "step"),
        "deadline": ("时限", "deadline"),
        "escalation": ("督办", "escalation"),
        "request": ("请求", "request"),
    },
    "ComplaintCategory": {
        "enforcement_abuse": ("执法人员滥用职权", "abuse by enforcement staff"),
        "enforcement_neglect": ("执法人员不作为", "neglect by enforcement staff"),
        "enforcement_favouritism": ("执法人员徇私、以罚代刑", "favouritism by enforcement staff"),
        "consultation": ("咨询", "consultation"),
        "public_service": ("公共服务", "public service"),
        "market_order": ("市场秩序", "market order"),
        "environment": ("生态环境", "environment"),
        "other": ("其他", "other"),
    },
    "DisputeKind": {"positive": WORDS["positive"], "negative": WORDS["negative"]},
    "Position": {"claims": WORDS["claims_it"], "declines": WORDS["declines_it"]},
    "ItemState": dict(ITEM_STATE_LABELS),
    "CaseActivityKind": {
        "handled": ("办理", "handled"),
        "refused": ("不予处罚/受理", "refused"),
        "overturned": ("被撤销变更", "overturned"),
        "complaint": ("投诉举报", "complaint"),
    },
    "ReviewOutcome": {
        "keep": ("继续赋权", "keep"),
        "adjust": ("调整", "adjust"),
        "revoke": ("收回", "revoke"),
    },
    "AssessorRole": {
        "township": ("乡镇（街道）", "township"),
        "original_department": ("原行使部门", "original department"),
        "public": ("群众评议", "the public"),
        "justice": ("司法行政机关", "justice bureau"),
        "reform_office": ("机构编制部门", "institutional reform office"),
    },
    "Rating": {
        "competent": ("能够承接", "competent"),
        "needs_support": ("需要支持", "needs support"),
        "not_competent": ("不能有效承接", "not competent"),
    },
    "PauseReason": {
        "police_review": ("公安机关要求复议", "police review"),
        "party_appeal": ("当事人申诉", "party appeal"),
    },
    "ReplyAdoption": {
        "adopted": ("已采纳", "adopted"),
        "partly_adopted": ("部分采纳", "partly adopted"),
        "not_adopted": ("未采纳", "not adopted"),
    },
}

# What the audit trail records (``AuditEntry.action``: permissions and the actions taken).
AUDIT_ACTION_LABELS: dict[str, tuple[str, str]] = {
    "login": ("登录", "sign-in"),
    "logout": ("退出", "sign-out"),
    "lang.set": ("切换语言", "language switch"),
    "session.end": ("结束会话", "session end"),
    "cases.list": ("查看案件列表", "case list"),
    "case.view": ("查看案件", "case page"),
    "referral.read": ("阅读线索内容", "referral content read"),
    "inbox.view": ("查看待协调争议", "dispute inbox"),
    "dispute.view": ("查看争议", "dispute page"),
    "dispute.act": ("办理争议", "dispute decision"),
    "dispute.claim": ("认领争议", "dispute claimed"),
    "dispute.unclaim": ("退回认领", "dispute released"),
    "dispute.reassign": ("改派协调人", "dispute reassigned"),
    "dispute.request_opinions": ("征求书面意见", "opinions requested"),
    "dispute.extend": ("延长期限", "deadline extended"),
    "dispute.designate": ("指定管辖", "jurisdiction designated"),
    "dispute.refer": ("报请政府决定", "referred to the government"),
    "dispute.interim": ("指定临时处置机关", "interim agency named"),
    "delegation.review": ("作出赋权评估决定", "delegation review decided"),
    "dashboard.view": ("查看运行监控", "dashboard"),
    "dead_letter.replay": ("重新投递死信", "dead letter replay"),
    "agency.view": ("查看本机关待办", "agency page"),
    "audit.view": ("查看审计日志", "audit log"),
    "users.view": ("查看用户", "users"),
    "users.add": ("新增用户", "user added"),
    "users.edit": ("修改用户", "user changed"),
    "users.password": ("重置密码", "password reset"),
    "cases.export": ("导出案件列表", "case list export"),
    "notifications.read_selected": ("所选通知标为已读", "selected notifications marked read"),
    "live.stream": ("实时更新", "live updates"),
    "notifications.view": ("查看通知", "notifications"),
    "notifications.read": ("通知标为已读", "notification marked read"),
    "notifications.read_all": ("通知全部标为已读", "all notifications marked read"),
    "digest.view": ("查看每日提醒", "daily digest"),
    "townships.list": ("查看赋权乡镇", "township list"),
    "township.view": ("查看乡镇赋权事项", "township page"),
    "statistics.view": ("查看监督统计", "statistics"),
    "statistics.export": ("导出监督统计", "statistics export"),
    "temporal_ui.use": ("使用 Temporal 界面", "Temporal UI"),
}

AUDIT_OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("成功", "ok"),
    "allowed": ("已允许", "allowed"),
    "forbidden": ("无权访问", "forbidden"),
    "refused": ("被拒绝", "refused"),
    "invalid": ("输入有误", "invalid input"),
    "csrf_failed": ("表单校验失败", "form check failed"),
    "failed": ("失败", "failed"),
    "throttled": ("登录受限", "throttled"),
    "unavailable": ("服务不可用", "unavailable"),
    "not_found": ("未找到", "not found"),
}


def enum_label(enum_name: str, value: str, lang: str) -> str:
    """One value of a contracts enum in words (unknown values as they are)."""
    return pick(ENUM_LABELS.get(enum_name, {}).get(value), lang, value)


def audit_action_label(action: str, lang: str) -> str:
    """An audit row's action in words."""
    return pick(AUDIT_ACTION_LABELS.get(action), lang, action)


def audit_outcome_label(outcome: str, lang: str) -> str:
    """An audit row's outcome in words."""
    return pick(AUDIT_OUTCOME_LABELS.get(outcome), lang, outcome)


def word(key: str, lang: str) -> str:
    """The word for ``key`` in ``lang``; an unknown key raises, so a typo fails a test."""
    zh, en = WORDS[key]
    return zh if lang == "zh" else en


def pick(pair: tuple[str, str] | None, lang: str, fallback: str = "") -> str:
    """One side of a (zh, en) pair."""
    if pair is None:
        return fallback
    return pair[0] if lang == "zh" else pair[1]


_STATES: dict[str, dict[str, tuple[str, str]]] = {p.name: p.state_labels for p in DEFINITIONS}


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


# ----- the case page: the substance of a case and its timeline rows ------------------------------

WORDS.update(
    {
        "case_facts": ("案件情况", "The case"),
        "case_facts_none": ("尚未收到载有案件情况的事件", "No event describing the case has arrived yet"),
        "from_step": ("来自", "from"),
        "document_numbers": ("文书文号", "Document numbers"),
        "document_number": ("文号", "Number"),
        "document_kind": ("文书", "Document"),
        "attached_documents": ("附件材料", "Attached documents"),
        "attachment_name": ("名称", "Name"),
        "attachment_kind": ("类别", "Kind"),
        "attachment_hash": ("SHA-256 校验值", "SHA-256"),
        "attachment_step": ("随附于", "Came with"),
        "open_attachment": ("打开附件 {name}（{case}）", "Open attachment {name} ({case})"),
        "step": ("步骤", "Step"),
        "yes": ("是", "yes"),
        "no": ("否", "no"),
        "yuan": ("元", "yuan"),
        "row_details": ("明细", "Details"),
        "row_details_of": ("第 {seq} 条“{event}”的明细（{case}）", "Details of row {seq}, {event} ({case})"),
        "row_no_details": ("此记录无更多内容", "Nothing more is recorded with this row"),
        "raw_payload": ("原始数据（JSON）", "Raw payload (JSON)"),
        "show_system_rows": ("显示系统记录（{n} 条）", "Show system rows ({n})"),
        "show_system_rows_of": (
            "显示系统记录（{n} 条）：案件 {case} 的时限登记、认领等",
            "Show system rows ({n}): deadline bookkeeping and claims of case {case}",
        ),
        "system_row": ("系统记录", "system row"),
        "content_hidden": (
            "该线索的内容仅限有关纪检监察机关和移送机关负责人查阅",
            "The referral's content is for the commissions concerned and the referring body's head",
        ),
    }
)

# The fields of the contracts' payloads (inbound events, their nested records, and what the
# workflows publish with their steps), by field name; ``Model.field`` where one name means
# different things in different payloads. Looked up before FIELD_LABELS, whose entries name the
# console's own forms and query parameters.
PAYLOAD_LABELS: dict[str, tuple[str, str]] = {
    # What a case is about.
    "case_title": ("案件名称", "Case title"),
    "title": ("名称", "Title"),
    "enforcement_case_no": ("行政执法案件文号", "Enforcement case no."),
    "criminal_case_no": ("刑事案件编号", "Criminal case no."),
    "suspected_offence": ("涉嫌罪名", "Suspected offence"),
    "offence_considered": ("审查的罪名", "Offence considered"),
    "administrative_violation": ("涉嫌的行政违法行为", "Administrative violation"),
    "amount_involved": ("涉案金额", "Amount involved"),
    "fine_amount": ("罚款金额", "Fine"),
    "facts": ("涉嫌犯罪的事实概要", "Facts"),
    "summary": ("概要", "Summary"),
    "DisputeRaised.summary": ("争议事项概要", "What the dispute is about"),
    "AgreementReached.summary": ("协商结果", "Agreement"),
    "CriminalOutcomeReported.summary": ("刑事处理结果", "Criminal outcome"),
    "TransferReportSubmitted.summary": ("核实情况与移送建议", "Findings and recommendation"),
    "AssessmentSubmitted.summary": ("评估意见", "Assessment"),
    "ComplaintReceived.summary": ("诉求内容", "Complaint"),
    "items_summary": ("移交物品和材料概要", "Items handed over"),
    "officers": ("承办人员", "Officers"),
    "TeamFormed.officers": ("专案组成员", "Team members"),
    "case_transfer.team_assigned.officers": ("专案组人数", "Team size"),
    "prosecutors": ("承办检察官", "Prosecutors"),
    "name": ("姓名", "Name"),
    "Attachment.name": ("文件名称", "File name"),
    "certificate_no": ("执法证号", "Certificate no."),
    "leader_certificate_no": ("组长执法证号", "Team leader's certificate no."),
    "position": ("职务", "Position"),
    "PartyClaim.position": ("主张", "Position"),
    "attachments": ("附件", "Attachments"),
    "kind": ("类别", "Kind"),
    "DisputeRaised.kind": ("争议类型", "Dispute kind"),
    "sha256": ("SHA-256 校验值", "SHA-256"),
    "uri": ("文件地址", "Location"),
    # Document numbers (文号).
    "report_no": ("报告文号", "Report no."),
    "decision_no": ("决定书文号", "Decision no."),
    "transfer_letter_no": ("移送书文号", "Transfer letter no."),
    "penalty_decision_no": ("行政处罚决定书文号", "Penalty decision no."),
    "receipt_no": ("回执文号", "Receipt no."),
    "forward_letter_no": ("转送函文号", "Forwarding letter no."),
    "request_no": ("文书文号", "Request no."),
    "notice_no": ("通知书文号", "Notice no."),
    "explanation_no": ("说明文号", "Explanation no."),
    "conclusion_no": ("文书文号", "Conclusion no."),
    "handover_no": ("移交文书文号", "Handover no."),
    "document_no": ("文书文号", "Document no."),
    "DelegationGranted.document_no": ("赋权文件文号", "Delegation document no."),
    "closing_no": ("结案文书文号", "Closing no."),
    "team_no": ("专案组编号", "Team no."),
    "approval_no": ("审批文书文号", "Approval no."),
    "opinion_no": ("检察意见书文号", "Opinion no."),
    "reply_no": ("回复文号", "Reply no."),
    "return_letter_no": ("退回函文号", "Return letter no."),
    "acceptance_no": ("接收文书文号", "Acceptance no."),
    "receiving_case_no": ("接收后的案件编号", "Case no. at the receiving agency"),
    "case_no": ("案件文号", "Case no."),
    "case_nos": ("案件文号", "Case nos."),
    "received_case_nos": ("已接收的案件文号", "Case nos. received"),
    "ticket_no": ("12345工单号", "12345 ticket no."),
    # Agencies and people.
    "agency": ("机关", "Agency"),
    "NonProsecutionDecided.agency": ("应当给予行政处罚的主管机关", "Agency to impose the penalty"),
    "OpinionIssued.agency": ("送达的主管机关", "Agency served"),
    "PoliceNoCrimeFound.agency": ("应当移回的行政执法机关", "Agency the case goes back to"),
    "PartyClaim.agency": ("争议方", "Party"),
    "Official.agency": ("所在单位", "Works at"),
    "police_agency": ("接受移送的公安机关", "Police receiving the case"),
    "police": ("公安机关", "Police"),
    "procuratorate_copy": ("抄送的人民检察院", "Procuratorate copied"),
    "procuratorate": ("人民检察院", "Procuratorate"),
    "forwarded_to": ("转送至", "Forwarded to"),
    "agreed_agency": ("协商确定的管辖机关", "Agreed agency"),
    "signatories": ("签署协议的各方", "Signatories"),
    "claims": ("各方主张", "Claims"),
    "coordinator_office": ("协调机构", "Coordinating office"),
    "government": ("人民政府", "Government"),
    "parties": ("当事机关", "Parties"),
    "party": ("责任方", "Party"),
    "receiving_department": ("行政检察部门", "Receiving department"),
    "department": ("承办部门", "Department"),
    "subject_agency": ("被投诉的执法机关", "Agency complained of"),
    "township": ("乡镇（街道）", "Township"),
    "original_department": ("原行使部门", "Original department"),
    "training_departments": ("参与联合培训的部门", "Departments in the joint training"),
    "justice_bureau": ("司法局", "Justice bureau"),
    "target": ("督办对象", "Escalated to"),
    "escalate_to": ("提请监督的机关", "Escalated to"),
    "decided_by": ("作出决定的负责人", "Decided by"),
    "declined_by": ("作出决定的负责人", "Declined by"),
    "approved_by": ("批准人", "Approved by"),
    "received_by": ("签收人", "Received by"),
    "complainant": ("来电人", "Caller"),
    "anonymous": ("匿名", "Anonymous"),
    "phone": ("联系电话", "Phone"),
    "official_description": ("被投诉人员描述", "Official complained of"),
    "reviewers": ("评估机关", "Reviewers"),
    "assessors": ("评估方", "Assessors"),
    "assessed_by": ("已评估的各方", "Assessed by"),
    "assessor_role": ("评估方", "Assessor"),
    "from_coordinator": ("原协调人", "Previous coordinator"),
    "from_coordinator_name": ("原协调人姓名", "Previous coordinator's name"),
    "by_admin": ("由管理员改派", "Reassigned by an administrator"),
    "was_party": ("是否为争议方", "Was a party"),
    "visible_to": ("知悉机关", "Visible to"),
    # Decisions and their reasons.
    "decision": ("决定", "Decision"),
    "decisions": ("逐项决定", "Decisions"),
    "outcome": ("结果", "Outcome"),
    "outcome_of_pause": ("复议/复核/申诉的处理结果", "Outcome of the review or appeal"),
    "outcome_summary": ("处置结果", "Outcome"),
    "reasons": ("理由", "Reasons"),
    "recommendation": ("检察意见", "Recommendation"),
    "explanation": ("不立案理由说明", "Explanation"),
    "opinion": ("书面意见", "Opinion"),
    "legal_basis": ("法律依据", "Legal basis"),
    "filed_on": ("立案日期", "Filed on"),
    "details": ("情况说明", "Details"),
    "adoption": ("采纳情况", "Adoption"),
    "AgencyReplied.measures": ("处理情况", "Measures taken"),
    "Rectified.measures": ("整改措施及结果", "Rectification"),
    "within_jurisdiction": ("是否属本机关管辖", "Within its jurisdiction"),
    "file_returned": ("是否已退回案卷材料", "File returned"),
    "penalty_already_imposed": ("是否已作出行政处罚决定", "Penalty already imposed"),
    "penalty_imposed": ("是否作出行政处罚", "Penalty imposed"),
    "expert_report_made": ("是否已作出检验报告或鉴定结论", "Expert report made"),
    "rectification_required": ("是否需要整改", "Rectification required"),
    "rectification_items": ("整改事项", "Rectification items"),
    "completed_on": ("完成日期", "Completed on"),
    "remarks": ("处置意见（内部）", "Remarks (internal)"),
    "inquiry_on": ("谈话或函询回复时间", "Inquiry answered on"),
    "served_at": ("送达时间", "Served at"),
    "received_at": ("来电时间", "Received at"),
    "category": ("投诉类别", "Category"),
    "proposal_id": ("线索建议编号", "Proposal id"),
    "related_process": ("关联流程", "Related process"),
    "related_case_id": ("关联案件编号", "Related case"),
    "suggestion": ("“最先立案”规则建议", "First-to-file suggestion"),
    "suggested_agency": ("建议管辖机关", "Suggested agency"),
    "follows_suggestion": ("是否采纳建议", "Follows the suggestion"),
    "reason_zh": ("理由（中文）", "Reason (Chinese)"),
    "reason_en": ("理由（英文）", "Reason (English)"),
    "filing_dates": ("各方立案日期", "Filing dates"),
    "by": ("结束方式", "Ended by"),
    # Delegated powers.
    "items": ("赋权事项", "Items"),
    "item_code": ("事项编码", "Item code"),
    "item_codes": ("事项编码", "Item codes"),
    "code": ("事项编码", "Item code"),
    "name_zh": ("事项名称", "Item"),
    "name_en": ("事项英文名称", "Item (English)"),
    "scope": ("实施范围", "Scope"),
    "new_scope": ("调整后的实施范围", "New scope"),
    "effective_date": ("生效日期", "Effective on"),
    "effective_at": ("生效时间", "Effective at"),
    "next_review_at": ("下次评估时间", "Next review"),
    "enforcement_staff": ("综合执法人员数", "Enforcement staff"),
    "certified_staff": ("持执法证人员数", "Certified staff"),
    "training_completed_on": ("联合培训完成日期", "Joint training completed on"),
    "activity": ("办案情况", "Activity"),
    "rating": ("评价", "Rating"),
    "ratings": ("逐项评价", "Ratings"),
    "comment": ("意见", "Comment"),
    "counters": ("办案统计", "Case counts"),
    "handled": ("办理", "Handled"),
    "refused": ("不予处罚/受理", "Refused"),
    "overturned": ("被撤销变更", "Overturned"),
    "complaint": ("投诉举报", "Complaints"),
    "cases": ("在办案件", "Open cases"),
    "cycle": ("评估轮次", "Review cycle"),
    "review_period": ("评估期间", "Review period"),
    "period_counters": ("本期办案统计", "Case counts this period"),
    "handover_required": ("是否需移交在办案件", "Open cases to hand over"),
    "early": ("是否提前收回", "Revoked early"),
    # Workflow bookkeeping that comes with steps.
    "state": ("状态", "State"),
    "previous": ("此前状态", "Previous state"),
    "from": ("原机关", "From"),
    "to": ("至", "To"),
    "path": ("移送途径", "Path"),
    "rule": ("时限规则", "Rule"),
    "reminder": ("提醒次数", "Reminder"),
    "due_at": ("届满时间", "Due"),
    "previous_due_at": ("原届满时间", "Previously due"),
    "negotiation_due_at": ("协商期限届满时间", "Negotiation due"),
    "used_working_days": ("已用工作日", "Working days used"),
    "remaining_working_days": ("剩余工作日", "Working days left"),
    "budget_working_days": ("审查期限（工作日）", "Review budget (working days)"),
    "late": ("是否逾期", "Late"),
    "late_seconds": ("逾期时长", "Late by"),
    "breach_withdrawn": ("超期记录已撤回", "Breach withdrawn"),
    "beside_supervision": ("与立案监督并行", "Alongside supervision"),
    "on_own_initiative": ("依职权开展", "On its own initiative"),
    "rule_source": ("依据", "Rule source"),
    "deadline_id": ("时限编号", "Deadline id"),
    "basis": ("依据", "Basis"),
    "process": ("流程", "Process"),
    "workflow_id": ("工作流编号", "Workflow id"),
    "disposition": ("处置方式", "Disposition"),
    "commission": ("纪检监察机关", "Commission"),
    "managing_level": ("管理层级", "Managing level"),
    "source": ("线索来源", "Source"),
    "clue_no": ("线索编号", "Clue no."),
    "officials": ("涉及人员", "Officials"),
    "misconduct": ("问题类型", "Misconduct"),
    "allegation": ("问题描述", "Allegation"),
    "evidence": ("证据材料", "Evidence"),
    "referral_letter_no": ("移送函文号", "Referral letter no."),
}


# Values the workflows publish with their steps that no contract enum names, by field.
PAYLOAD_VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "by": {
        "agreement": ("协商一致", "agreement"),
        "coordinator": ("协调机构指定", "designation by the coordinating office"),
        "government": ("人民政府决定", "decision of the government"),
    },
    "path": {
        "procuratorate": ("检察机关不起诉后移送", "from the procuratorate after non-prosecution"),
        "police": ("公安机关移回", "returned by the police"),
    },
}


def payload_label(name: str, lang: str, model: str | None = None) -> str:
    """A payload field by its label: the ``Model.field`` (or ``<step type>.field``) entry where
    one name means different things, else the field's own, else a form field's (unknown fields
    as they are named)."""
    pair = (PAYLOAD_LABELS.get(f"{model}.{name}") if model else None) or PAYLOAD_LABELS.get(name)
    return pick(pair or FIELD_LABELS.get(name) or CONTENT_LABELS.get(name), lang, name)
