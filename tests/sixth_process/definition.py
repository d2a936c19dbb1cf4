"""A rectification notice (整改通知): an agency tells a township to rectify; the township
reports it has, within five working days. Two steps, one time limit, one recipient."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import Field

from contracts.agencies import AgencyKind
from contracts.common import AgencyRef, DomainEventSpec, EventSpec, Payload
from contracts.process import Clock, Clocks, Process, StateDef
from contracts.recipients import Who, act, payload_agencies
from contracts.time_limits import WORKING_DAYS, Rule, limit

PROCESS = "rectification_notice"
RECTIFICATION = PROCESS + ".rectification"


class NoticeIssued(Payload):
    """The notice, naming the township that must rectify."""

    township: str = AgencyRef
    notice_no: str = Field(min_length=1, max_length=80)


class RectificationReported(Payload):
    """The township's report that it has rectified."""

    report_no: str = Field(min_length=1, max_length=80)


STATES = (
    StateDef("new", "新建", "new"),
    StateDef("notified", "待整改", "awaiting rectification"),
    StateDef("rectified", "已整改", "rectified", closed=True),
)
STEPS = (
    EventSpec(
        PROCESS + ".notice_issued",
        NoticeIssued,
        frozenset({AgencyKind.ADMINISTRATIVE}),
        opens=True,
        label_zh="下达整改通知",
        label_en="Rectification notice issued",
        valid_in=frozenset({"new"}),
        leads_to=frozenset({"notified"}),
    ),
    EventSpec(
        PROCESS + ".rectification_reported",
        RectificationReported,
        frozenset({AgencyKind.TOWNSHIP}),
        label_zh="报告整改完成",
        label_en="Rectification reported",
        valid_in=frozenset({"notified"}),
        party=("township",),
        leads_to=frozenset({"rectified"}),
    ),
)
RULES: tuple[Rule, ...] = (
    limit(RECTIFICATION, "测试规则(非法定)", 5, WORKING_DAYS, "报告整改情况", "Report the rectification"),
)
TELLS: Mapping[str, tuple[Who, ...]] = MappingProxyType(
    {
        PROCESS + ".notice_issued": (),
        PROCESS + ".rectification_reported": (),
        PROCESS + ".opened": (
            act(
                payload_agencies("township"),
                "收到整改通知，请按期整改",
                "A rectification notice: rectify in time",
            ),
        ),
    }
)

DEFINITION = Process(
    name=PROCESS,
    label_zh="整改通知",
    label_en="Rectification notice",
    workflow="RectificationNotice",
    states=STATES,
    steps=STEPS,
    domain_events=(DomainEventSpec(PROCESS + ".opened", "整改通知已下达", "Rectification notice issued"),),
    rules=RULES,
    tells=TELLS,
    clocks={
        PROCESS + ".opened": Clocks(starts=(Clock(RECTIFICATION, "township", ("issuer",)),)),
        PROCESS + ".rectification_reported": Clocks(meets=(RECTIFICATION,)),
    },
    roles={"issuer": ("下达整改通知的机关", "the agency that issued the notice")},
    sources=("测试用流程",),
)
