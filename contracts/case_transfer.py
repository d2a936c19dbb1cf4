"""Payloads of process 1, administrative-to-criminal case transfer (行刑衔接).

Source: 国务院令第310号《行政执法机关移送涉嫌犯罪案件的规定》(2020 revision).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from contracts.agencies import AgencyKind
from contracts.common import Attachment, DomainEventSpec, EventSpec, Officer, Payload

PROCESS = "case_transfer"


class CrimeSuspected(Payload):
    """An enforcement case shows a suspected crime (art. 3); the transfer process starts."""

    enforcement_case_no: str = Field(
        min_length=1, max_length=80, description="行政执法案件文号", examples=["日市监立〔2026〕15号"]
    )
    case_title: str = Field(min_length=1, max_length=200, examples=["某公司销售伪劣产品案"])
    suspected_offence: str = Field(
        min_length=1, max_length=200, description="涉嫌罪名", examples=["销售伪劣产品罪"]
    )
    amount_involved: Decimal | None = Field(
        default=None, ge=0, max_digits=16, decimal_places=2, description="涉案金额（元）"
    )
    facts: str = Field(min_length=1, max_length=4000, description="涉嫌犯罪的事实概要")
    officers: list[Officer] = Field(min_length=2, description="承办人员（至少二人，第5条）")
    attachments: list[Attachment] = Field(default_factory=list)


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        type="case_transfer.crime_suspected",
        payload=CrimeSuspected,
        senders=frozenset({AgencyKind.ADMINISTRATIVE, AgencyKind.TOWNSHIP}),
        opens=True,
        label_zh="发现涉嫌犯罪",
        label_en="Crime suspected",
    ),
)

DOMAIN_EVENTS: tuple[DomainEventSpec, ...] = (
    DomainEventSpec("case_transfer.opened", "移送程序启动", "Transfer process opened"),
)
