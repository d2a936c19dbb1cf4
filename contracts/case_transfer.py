"""Payloads of process 1, administrative-to-criminal case transfer (行刑衔接), forward direction.

Source: 国务院令第310号《行政执法机关移送涉嫌犯罪案件的规定》(2020 revision); the supervision
steps follow the Public Security Ministry's criminal-case procedure rules (立案监督). Each model
carries what an agency's back-office system already holds at that step: document numbers (文号),
the officers who acted, the suspected offence and amount, documents by reference (name, kind,
sha256, URI), and written reasons wherever a decision is negative (art. 5, 8, 9 require them).

Checks that need only the message itself (a refusal without reasons, a transfer without the
documents art. 6 lists, a police id that is not a police agency) live here, so intake refuses
them before anything reaches a workflow; checks that need the case (is this the police the case
went to?) live in ``workflows/case_transfer.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from contracts.agencies import CRIMINAL_INVESTIGATION_KINDS, AgencyKind, get_agency
from contracts.common import (
    MAX_ATTACHMENTS,
    MAX_OFFICERS,
    Attachment,
    AttachmentKind,
    DomainEventSpec,
    EventSpec,
    Officer,
    Officers,
    Payload,
)
from contracts.envelope import AGENCY_ID_PATTERN
from contracts.process import Clock, Clocks, Process, StateDef
from contracts.recipients import CASE_AGENCY, POLICE, PROCURATORATE_PARTY, Who, act, inform, payload_agencies
from contracts.time_limits import DAYS, HOURS, STATE_COUNCIL_310, WORKING_DAYS, Nature, Rule, limit

PROCESS = "case_transfer"

_AGENCY_SIDE = frozenset({AgencyKind.ADMINISTRATIVE, AgencyKind.TOWNSHIP})
_POLICE = frozenset({AgencyKind.POLICE})
# Who may act as "the police" of a case: the police it was transferred to, or the competent
# authority the police forwarded it to (art. 7: customs anti-smuggling, the coast guard).
_INVESTIGATORS = frozenset(CRIMINAL_INVESTIGATION_KINDS)
_PROCURATORATE = frozenset({AgencyKind.PROCURATORATE})

DocNo = Field(min_length=1, max_length=80, description="文书文号")
Reasons = Field(default=None, min_length=1, max_length=4000, description="理由（否定性决定必填）")


def check_agency(value: str, kinds: frozenset[AgencyKind], what: str) -> str:
    """Refuse an agency id that is unknown or of the wrong kind (the field name comes from pydantic).

    Used by field validators, so the rejection names the payload field that holds the id.
    """
    agency = get_agency(value)
    if agency is None:
        raise ValueError(f"unknown agency {value!r}")
    if agency.kind not in kinds:
        allowed = ", ".join(sorted(k.value for k in kinds))
        raise ValueError(f"{value!r} is a {agency.kind.value} agency; {what} must be of kind {allowed}")
    return value


def require_reasons(negative: bool, reasons: str | None, what: str) -> None:
    """A negative decision without written reasons is not a decision the law accepts."""
    if negative and not (reasons and reasons.strip()):
        raise ValueError(f"reasons: required when {what}")


def require_kinds(attachments: list[Attachment], kinds: tuple[AttachmentKind, ...], rule: str) -> None:
    """Refuse a message that lacks a document the cited article requires."""
    present = {a.kind for a in attachments}
    missing = [k.value for k in kinds if k not in present]
    if missing:
        raise ValueError(f"attachments: missing {', '.join(missing)} ({rule})")


def _unique_officers(officers: list[Officer]) -> list[Officer]:
    numbers = [o.certificate_no for o in officers]
    if len(set(numbers)) != len(numbers):
        raise ValueError("the same certificate_no is listed twice; name each officer once")
    return officers


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
    officers: Officers = Field(
        min_length=2, max_length=MAX_OFFICERS, description="承办人员（至少二人，第5条）"
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class TeamFormed(Payload):
    """The special team of at least two officers (专案组, art. 5) is named."""

    team_no: str | None = Field(default=None, max_length=80, description="专案组编号或指定文书文号")
    officers: list[Officer] = Field(min_length=2, max_length=20, description="专案组成员（至少二人，第5条）")
    leader_certificate_no: str | None = Field(
        default=None, min_length=4, max_length=40, description="组长执法证号"
    )

    @field_validator("officers")
    @classmethod
    def _unique(cls, value: list[Officer]) -> list[Officer]:
        return _unique_officers(value)

    @model_validator(mode="after")
    def _leader_in_team(self) -> Self:
        """The leader must be one of the named members."""
        if self.leader_certificate_no is not None and self.leader_certificate_no not in {
            o.certificate_no for o in self.officers
        }:
            raise ValueError("leader_certificate_no: not one of the officers named")
        return self


class TransferReportSubmitted(Payload):
    """The team's written report goes to the head (书面报告, art. 5)."""

    report_no: str = DocNo
    suspected_offence: str = Field(min_length=1, max_length=200, description="涉嫌罪名")
    amount_involved: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=2)
    summary: str = Field(min_length=1, max_length=4000, description="核实情况与移送建议")
    officers: Officers = Field(min_length=2, max_length=MAX_OFFICERS, description="报告署名的专案组成员")
    attachments: list[Attachment] = Field(min_length=1, max_length=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _has_report(self) -> Self:
        require_kinds(self.attachments, (AttachmentKind.INVESTIGATION_REPORT,), "the written report, art. 5")
        return self


class HeadDecision(StrEnum):
    """What the head decides on the report."""

    APPROVE = "approve"  # 批准移送
    REFUSE = "refuse"  # 不批准移送


class HeadDecided(Payload):
    """The head (正职负责人或主持工作的负责人) approves or refuses within 3 days (art. 5)."""

    decision: HeadDecision
    decided_by: str = Field(min_length=1, max_length=50, description="作出决定的负责人姓名及职务")
    decision_no: str | None = Field(default=None, max_length=80, description="审批文书文号")
    reasons: str | None = Reasons

    @model_validator(mode="after")
    def _reasons_on_refusal(self) -> Self:
        require_reasons(
            self.decision is HeadDecision.REFUSE, self.reasons, "the head refuses the transfer (art. 5)"
        )
        return self


class Transferred(Payload):
    """The case goes to the police with the documents of art. 6; the procuratorate gets a copy."""

    transfer_letter_no: str = Field(min_length=1, max_length=80, description="涉嫌犯罪案件移送书文号")
    police_agency: str = Field(pattern=AGENCY_ID_PATTERN, description="接受移送的同级公安机关")
    procuratorate_copy: str = Field(pattern=AGENCY_ID_PATTERN, description="抄送的同级人民检察院")
    suspected_offence: str = Field(min_length=1, max_length=200)
    amount_involved: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=2)
    penalty_already_imposed: bool = Field(default=False, description="是否已作出行政处罚决定（第11条）")
    penalty_decision_no: str | None = Field(default=None, max_length=80, description="行政处罚决定书文号")
    expert_report_made: bool = Field(
        default=False,
        description="是否已作出检验报告或者鉴定结论（第6条：有检验报告或者鉴定结论的，应当附上）",
    )
    attachments: list[Attachment] = Field(min_length=3, max_length=MAX_ATTACHMENTS)

    @field_validator("police_agency")
    @classmethod
    def _police(cls, value: str) -> str:
        return check_agency(value, _POLICE, "the receiving authority")

    @field_validator("procuratorate_copy")
    @classmethod
    def _procuratorate(cls, value: str) -> str:
        return check_agency(value, _PROCURATORATE, "the copy")

    @model_validator(mode="after")
    def _art6_documents(self) -> Self:
        require_kinds(
            self.attachments,
            (AttachmentKind.TRANSFER_LETTER, AttachmentKind.INVESTIGATION_REPORT, AttachmentKind.ITEM_LIST),
            "art. 6",
        )
        if self.expert_report_made:
            require_kinds(
                self.attachments,
                (AttachmentKind.EXPERT_REPORT,),
                "art. 6: expert_report_made says a test or expert report exists; attach it",
            )
        if self.penalty_already_imposed:
            if not self.penalty_decision_no:
                raise ValueError("penalty_decision_no: required when a penalty was already imposed (art. 11)")
            require_kinds(
                self.attachments, (AttachmentKind.PENALTY_DECISION,), "art. 11: attach the penalty decision"
            )
        return self


class PoliceReceived(Payload):
    """The police sign the receipt (回执, art. 7) and say whether the case is theirs."""

    receipt_no: str = DocNo
    received_by: Officer = Field(description="签收民警（警号填入 certificate_no）")
    within_jurisdiction: bool = Field(default=True, description="是否属于本机关管辖")
    reasons: str | None = Reasons

    @model_validator(mode="after")
    def _reasons_when_not_ours(self) -> Self:
        require_reasons(
            not self.within_jurisdiction, self.reasons, "the case is not within the police's jurisdiction"
        )
        return self


class PoliceForwarded(Payload):
    """The police forward a case that is not theirs to the competent authority (art. 7, 24 h):
    other police, customs anti-smuggling or the coast guard."""

    forward_letter_no: str = DocNo
    forwarded_to: str = Field(
        pattern=AGENCY_ID_PATTERN, description="有管辖权的机关（公安机关、海关缉私部门、海警机构）"
    )
    reasons: str = Field(min_length=1, max_length=4000)

    @field_validator("forwarded_to")
    @classmethod
    def _competent(cls, value: str) -> str:
        return check_agency(value, _INVESTIGATORS, "the competent authority")


class PoliceDecision(StrEnum):
    """Whether the police file the case."""

    FILE = "file"  # 立案
    REFUSE = "refuse"  # 不予立案


class PoliceDecided(Payload):
    """The police file the case or refuse with reasons, returning the file (art. 8)."""

    decision: PoliceDecision
    decision_no: str = Field(min_length=1, max_length=80, description="立案决定书/不予立案通知书文号")
    reasons: str | None = Reasons
    file_returned: bool = Field(default=False, description="不予立案时是否已退回案卷材料")
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _reasons_on_refusal(self) -> Self:
        require_reasons(
            self.decision is PoliceDecision.REFUSE, self.reasons, "the police refuse to file (art. 8)"
        )
        return self


class ReconsiderationRequested(Payload):
    """The agency asks the police to reconsider a refusal within 3 days (art. 9)."""

    request_no: str = DocNo
    reasons: str = Field(min_length=1, max_length=4000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class SupervisionRequested(Payload):
    """The agency asks the procuratorate to supervise the refusal (立案监督, art. 9)."""

    request_no: str = DocNo
    procuratorate: str = Field(pattern=AGENCY_ID_PATTERN, description="建议立案监督的人民检察院")
    reasons: str = Field(min_length=1, max_length=4000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @field_validator("procuratorate")
    @classmethod
    def _procuratorate(cls, value: str) -> str:
        return check_agency(value, _PROCURATORATE, "the supervising body")


class ReconsiderationOutcome(StrEnum):
    """What the police decide on reconsideration."""

    FILE = "file"  # 撤销不予立案决定，立案
    UPHOLD = "uphold"  # 维持不予立案决定


class ReconsiderationDecided(Payload):
    """The police decide the reconsideration within 3 days (art. 9)."""

    outcome: ReconsiderationOutcome
    decision_no: str = DocNo
    reasons: str | None = Reasons

    @model_validator(mode="after")
    def _reasons_on_uphold(self) -> Self:
        require_reasons(self.outcome is ReconsiderationOutcome.UPHOLD, self.reasons, "the refusal is upheld")
        return self


class SupervisionOpened(Payload):
    """The procuratorate opens supervision of a refusal to file on its own (a case it learned
    of), without the agency's request."""

    notice_no: str = DocNo
    reasons: str = Field(min_length=1, max_length=4000)


class ExplanationRequested(Payload):
    """The procuratorate asks the police to explain why they did not file (要求说明不立案理由);
    the police's 7 days run from their receipt of the request (``served_at``)."""

    request_no: str = Field(min_length=1, max_length=80, description="要求说明不立案理由通知书文号")
    served_at: AwareDatetime = Field(description="公安机关收到通知书的时间（7日期限自此起算）")


class PoliceExplained(Payload):
    """The police explain to the procuratorate why they refused to file (7 days)."""

    explanation_no: str = DocNo
    explanation: str = Field(min_length=1, max_length=4000, description="不立案理由说明")
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class FilingOrdered(Payload):
    """The procuratorate finds the reasons wrong and orders filing (通知立案; police file in 15 days)."""

    notice_no: str = Field(min_length=1, max_length=80, description="通知立案书文号")
    reasons: str = Field(min_length=1, max_length=4000)


class SupervisionConcluded(Payload):
    """The procuratorate finds the refusal's reasons sound; supervision ends without an order."""

    conclusion_no: str = DocNo
    reasons: str = Field(min_length=1, max_length=4000, description="认为不立案理由成立的理由")


class MaterialsHandedOver(Payload):
    """After filing, the agency hands over exhibits and materials within 3 days (art. 12)."""

    handover_no: str = DocNo
    received_by: Officer = Field(description="接收民警")
    items_summary: str = Field(min_length=1, max_length=4000, description="移交物品和材料概要")
    attachments: list[Attachment] = Field(min_length=1, max_length=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _item_list(self) -> Self:
        require_kinds(self.attachments, (AttachmentKind.ITEM_LIST,), "art. 12: the list of items handed over")
        return self


class CriminalOutcome(StrEnum):
    """How the criminal side ended."""

    PROSECUTED = "prosecuted"  # 提起公诉
    NOT_PROSECUTED = "not_prosecuted"  # 不起诉
    CASE_DISMISSED = "case_dismissed"  # 撤销案件
    JUDGMENT = "judgment"  # 已判决


class CriminalOutcomeReported(Payload):
    """The police or procuratorate report the criminal outcome; the transfer ends."""

    outcome: CriminalOutcome
    document_no: str = DocNo
    summary: str = Field(min_length=1, max_length=4000)


class AdministrativeCaseClosed(Payload):
    """The agency closes its administrative case after the transfer (结案)."""

    closing_no: str = DocNo
    reasons: str = Field(min_length=1, max_length=4000)


class ReturnedForPenalty(Payload):
    """Filing is finally refused: the agency handles the case itself (art. 10).

    A penalty never replaces a transfer (art. 11): the workflow accepts this only once the
    refusal is final. Fines already paid are credited against a later criminal fine.
    """

    penalty_imposed: bool = Field(description="是否依法作出行政处罚")
    penalty_decision_no: str | None = Field(default=None, max_length=80)
    fine_amount: Decimal | None = Field(
        default=None, ge=0, max_digits=16, decimal_places=2, description="罚款金额（元）"
    )
    reasons: str = Field(min_length=1, max_length=4000, description="处理情况说明")

    @model_validator(mode="after")
    def _decision_no(self) -> Self:
        if self.penalty_imposed and not self.penalty_decision_no:
            raise ValueError("penalty_decision_no: required when a penalty is imposed")
        if not self.penalty_imposed and self.fine_amount:
            raise ValueError("fine_amount: no fine without a penalty decision")
        return self


class ClueProposal(Payload):
    """The payload of ``discipline_referral.clue_proposed``: ids and the rule, no personal content.

    The justice bureau may confirm it by sending ``discipline_referral.clue_identified`` with the
    ``proposal_id``, ``source`` ``case_transfer_escalation`` and ``related_case_id`` (process 3).
    """

    proposal_id: str
    process: str
    case_id: str
    workflow_id: str
    agency: str
    rule: str
    rule_source: str
    deadline_id: str
    due_at: AwareDatetime
    justice_bureau: str | None = Field(description="可确认该线索的司法局")
    source: str = Field(
        default="case_transfer_escalation",
        description="与 discipline_referral.clue_identified 的 source 取值一致",
    )
    basis: str


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "case_transfer.crime_suspected",
        CrimeSuspected,
        _AGENCY_SIDE,
        opens=True,
        label_zh="发现涉嫌犯罪",
        label_en="Crime suspected",
        valid_in=frozenset({"new"}),
        leads_to=frozenset({"opened"}),
    ),
    EventSpec(
        "case_transfer.team_formed",
        TeamFormed,
        _AGENCY_SIDE,
        label_zh="组成专案组",
        label_en="Special team formed",
        valid_in=frozenset({"opened"}),
        party=("agency",),
        leads_to=frozenset({"team_formed"}),
    ),
    EventSpec(
        "case_transfer.transfer_report_submitted",
        TransferReportSubmitted,
        _AGENCY_SIDE,
        label_zh="提交移送书面报告",
        label_en="Transfer report submitted",
        valid_in=frozenset({"team_formed"}),
        party=("agency",),
        leads_to=frozenset({"reported"}),
    ),
    EventSpec(
        "case_transfer.head_decided",
        HeadDecided,
        _AGENCY_SIDE,
        label_zh="负责人作出移送决定",
        label_en="Head decided",
        valid_in=frozenset({"reported"}),
        party=("agency",),
        leads_to=frozenset({"approved", "refused_by_head"}),
    ),
    EventSpec(
        "case_transfer.transferred",
        Transferred,
        _AGENCY_SIDE,
        label_zh="向公安机关移送",
        label_en="Transferred to the police",
        valid_in=frozenset({"approved"}),
        party=("agency",),
        leads_to=frozenset({"transferred"}),
    ),
    EventSpec(
        "case_transfer.police_received",
        PoliceReceived,
        _INVESTIGATORS,
        label_zh="公安机关签收",
        label_en="Police signed the receipt",
        valid_in=frozenset({"transferred"}),
        party=("police",),
        leads_to=frozenset({"forwarding", "received"}),
    ),
    EventSpec(
        "case_transfer.police_forwarded",
        PoliceForwarded,
        _INVESTIGATORS,
        label_zh="公安机关转送",
        label_en="Police forwarded the case",
        valid_in=frozenset({"forwarding", "received"}),
        party=("police",),
        leads_to=frozenset({"transferred"}),
    ),
    EventSpec(
        "case_transfer.police_decided",
        PoliceDecided,
        _INVESTIGATORS,
        label_zh="公安机关作出立案决定",
        label_en="Police decided on filing",
        valid_in=frozenset({"explained", "filing_ordered", "received", "supervision"}),
        party=("police",),
        leads_to=frozenset({"filed", "police_refused"}),
    ),
    EventSpec(
        "case_transfer.reconsideration_requested",
        ReconsiderationRequested,
        _AGENCY_SIDE,
        label_zh="提请复议",
        label_en="Reconsideration requested",
        valid_in=frozenset({"explained", "police_refused", "supervision"}),
        party=("agency",),
        leads_to=frozenset({"reconsideration"}),
    ),
    EventSpec(
        "case_transfer.supervision_requested",
        SupervisionRequested,
        _AGENCY_SIDE,
        label_zh="建议检察院立案监督",
        label_en="Procuratorate supervision requested",
        valid_in=frozenset({"police_refused", "reconsideration", "refusal_upheld"}),
        party=("agency",),
        leads_to=frozenset({"supervision"}),
    ),
    EventSpec(
        "case_transfer.reconsideration_decided",
        ReconsiderationDecided,
        _INVESTIGATORS,
        label_zh="公安机关作出复议决定",
        label_en="Reconsideration decided",
        valid_in=frozenset({"explained", "filing_ordered", "reconsideration", "supervision"}),
        party=("police",),
        leads_to=frozenset({"filed", "refusal_upheld"}),
    ),
    EventSpec(
        "case_transfer.supervision_opened",
        SupervisionOpened,
        _PROCURATORATE,
        label_zh="检察院依职权开展立案监督",
        label_en="Procuratorate opened supervision on its own",
        valid_in=frozenset({"police_refused", "reconsideration", "refusal_upheld"}),
        party=("procuratorate",),
        leads_to=frozenset({"supervision"}),
    ),
    EventSpec(
        "case_transfer.explanation_requested",
        ExplanationRequested,
        _PROCURATORATE,
        label_zh="检察院要求公安机关说明不立案理由",
        label_en="Procuratorate asked the police to explain",
        valid_in=frozenset({"supervision"}),
        party=("procuratorate",),
    ),
    EventSpec(
        "case_transfer.police_explained",
        PoliceExplained,
        _INVESTIGATORS,
        label_zh="公安机关说明不立案理由",
        label_en="Police explained the refusal",
        valid_in=frozenset({"supervision"}),
        party=("police",),
        leads_to=frozenset({"explained"}),
    ),
    EventSpec(
        "case_transfer.filing_ordered",
        FilingOrdered,
        _PROCURATORATE,
        label_zh="检察院通知立案",
        label_en="Procuratorate ordered filing",
        valid_in=frozenset({"explained", "supervision"}),
        party=("procuratorate",),
        leads_to=frozenset({"filing_ordered"}),
    ),
    EventSpec(
        "case_transfer.supervision_concluded",
        SupervisionConcluded,
        _PROCURATORATE,
        label_zh="检察院认为不立案理由成立",
        label_en="Procuratorate found the refusal sound",
        valid_in=frozenset({"explained"}),
        party=("procuratorate",),
        leads_to=frozenset({"reconsideration", "refusal_final"}),
    ),
    EventSpec(
        "case_transfer.materials_handed_over",
        MaterialsHandedOver,
        _AGENCY_SIDE,
        label_zh="移交涉案物品和材料",
        label_en="Exhibits and materials handed over",
        valid_in=frozenset({"filed"}),
        party=("agency",),
        leads_to=frozenset({"materials_handed_over"}),
    ),
    EventSpec(
        "case_transfer.criminal_outcome_reported",
        CriminalOutcomeReported,
        _INVESTIGATORS | _PROCURATORATE,
        label_zh="刑事处理结果反馈",
        label_en="Criminal outcome reported",
        valid_in=frozenset({"filed", "materials_handed_over"}),
        party=(
            "police",
            "procuratorate",
        ),
        leads_to=frozenset({"concluded"}),
    ),
    EventSpec(
        "case_transfer.administrative_case_closed",
        AdministrativeCaseClosed,
        _AGENCY_SIDE,
        label_zh="行政案件结案",
        label_en="Administrative case closed",
        valid_in=frozenset({"filed", "materials_handed_over"}),
        party=("agency",),
        leads_to=frozenset({"administrative_closed"}),
    ),
    EventSpec(
        "case_transfer.returned_for_penalty",
        ReturnedForPenalty,
        _AGENCY_SIDE,
        label_zh="不予立案后依法作出行政处理",
        label_en="Handled administratively after final refusal",
        valid_in=frozenset({"police_refused", "refusal_final", "refusal_upheld"}),
        party=("agency",),
        leads_to=frozenset({"returned_for_penalty"}),
    ),
)

# fmt: off
DOMAIN_EVENTS: tuple[DomainEventSpec, ...] = (
    DomainEventSpec("case_transfer.opened", "移送程序启动", "Transfer process opened"),
    DomainEventSpec("case_transfer.team_assigned", "专案组已组成", "Special team in place"),
    DomainEventSpec("case_transfer.awaiting_head_decision", "报告待负责人审批", "Report awaits the head's decision"),
    DomainEventSpec("case_transfer.transfer_approved", "负责人批准移送", "Head approved the transfer"),
    DomainEventSpec("case_transfer.transfer_refused_by_head", "负责人不批准移送", "Head refused the transfer"),
    DomainEventSpec("case_transfer.sent_to_police", "已移送公安机关并抄送检察院", "Sent to the police, copy to the procuratorate"),
    DomainEventSpec("case_transfer.accepted_by_police", "公安机关已受理", "Police accepted the case"),
    DomainEventSpec("case_transfer.forward_pending", "公安机关认为不属本机关管辖", "Police will forward the case"),
    DomainEventSpec("case_transfer.forwarded_to_competent", "已转送有管辖权的公安机关", "Forwarded to the competent police"),
    DomainEventSpec("case_transfer.case_filed", "公安机关已立案", "Police filed the case"),
    DomainEventSpec("case_transfer.filing_refused", "公安机关不予立案", "Police refused to file"),
    DomainEventSpec("case_transfer.reconsideration_pending", "复议审查中", "Reconsideration under way"),
    DomainEventSpec("case_transfer.refusal_upheld", "复议维持不予立案", "Refusal upheld on reconsideration"),
    DomainEventSpec("case_transfer.supervision_started", "检察院立案监督中", "Procuratorate supervision under way"),
    DomainEventSpec("case_transfer.explanation_pending", "待公安机关说明不立案理由", "Police explanation awaited"),
    DomainEventSpec("case_transfer.reconsideration_concluded", "复议维持不予立案（立案监督继续）",
                    "Refusal upheld on reconsideration (supervision goes on)"),
    DomainEventSpec("case_transfer.supervision_ended", "立案监督结束（复议仍在审查）",
                    "Supervision ended (the reconsideration is still pending)"),
    DomainEventSpec("case_transfer.explanation_received", "已收到不立案理由说明", "Police explanation received"),
    DomainEventSpec("case_transfer.filing_order_issued", "检察院已通知立案", "Filing order issued"),
    DomainEventSpec("case_transfer.refusal_final", "不予立案决定确定", "Refusal to file is final"),
    DomainEventSpec("case_transfer.materials_complete", "涉案物品和材料已移交", "Exhibits and materials handed over"),
    DomainEventSpec("discipline_referral.clue_proposed", "拟移送纪检监察机关的问题线索（待司法局确认）",
                    "Discipline referral proposed (for the justice bureau to confirm)", ("escalation",)),
)
# fmt: on

STATES: tuple[StateDef, ...] = (
    StateDef("new", "新建", "new"),
    StateDef("opened", "已发现涉嫌犯罪", "crime suspected"),
    StateDef("team_formed", "已组成专案组", "team formed"),
    StateDef("reported", "已报请负责人审批", "report submitted"),
    StateDef("approved", "已批准移送", "transfer approved"),
    StateDef("transferred", "已移送公安机关", "transferred to police"),
    StateDef("forwarding", "公安机关转送中", "being forwarded"),
    StateDef("received", "公安机关已接收", "received by police"),
    StateDef("police_refused", "公安机关不予立案", "police refused"),
    StateDef("reconsideration", "复议中", "reconsideration"),
    StateDef("refusal_upheld", "维持不予立案", "refusal upheld"),
    StateDef("supervision", "检察监督中", "under supervision"),
    StateDef("explained", "公安机关已说明理由", "police explained"),
    StateDef("filing_ordered", "检察机关通知立案", "filing ordered"),
    StateDef("refusal_final", "不予立案已确定", "refusal final"),
    StateDef("filed", "公安机关已立案", "filed by police"),
    StateDef("materials_handed_over", "涉案物品已移交", "materials handed over"),
    StateDef("refused_by_head", "负责人不批准移送", "refused by the head", closed=True),
    StateDef("concluded", "已办结", "concluded", closed=True),
    StateDef("administrative_closed", "行政处理已结案", "administrative case closed", closed=True),
    StateDef("returned_for_penalty", "退回行政处罚", "returned for penalty", closed=True),
)

MPS_FILING = "公安部《公安机关办理刑事案件程序规定》(立案监督)"

# The time limits of this process, one row per limit with the source that fixes it.
# fmt: off
RULES: tuple[Rule, ...] = (
    limit("case_transfer.head_decision", f"{STATE_COUNCIL_310} 第5条", 3, DAYS,
        "负责人作出是否批准移送决定", "Agency head decides whether to approve the transfer"),
    limit("case_transfer.transfer_after_approval", f"{STATE_COUNCIL_310} 第5条", 24, HOURS,
        "批准后向公安机关移送", "Transfer to the police after approval"),
    limit("case_transfer.police_receipt", f"{STATE_COUNCIL_310} 第7条(签收回执；默认1个工作日)", 1, WORKING_DAYS,
        "公安机关签收移送案件", "Police sign the receipt of the transferred case", True),
    limit("case_transfer.police_forward", f"{STATE_COUNCIL_310} 第7条", 24, HOURS,
        "公安机关转送有管辖权的机关", "Police forward the case to the competent authority"),
    limit("case_transfer.police_decision", f"{STATE_COUNCIL_310} 第8条", 3, DAYS,
        "公安机关作出是否立案决定", "Police decide whether to file the case"),
    limit("case_transfer.reconsideration_request", f"{STATE_COUNCIL_310} 第9条", 3, DAYS,
        "提请公安机关复议", "Agency asks the police to reconsider", nature=Nature.WINDOW),
    limit("case_transfer.supervision_request", f"{STATE_COUNCIL_310} 第9条", 3, DAYS,
        "建议人民检察院立案监督", "Agency asks the procuratorate to supervise", nature=Nature.WINDOW),
    limit("case_transfer.reconsideration_decision", f"{STATE_COUNCIL_310} 第9条", 3, DAYS,
        "公安机关作出复议决定", "Police decide the reconsideration"),
    limit("case_transfer.refer_after_reconsideration", f"{STATE_COUNCIL_310} 第9条", 3, DAYS,
        "对复议决定有异议时建议检察院立案监督",
        "Agency refers to the procuratorate after the reconsideration", nature=Nature.WINDOW),
    limit("case_transfer.police_explanation", MPS_FILING, 7, DAYS,
        "公安机关说明不立案理由", "Police explain why they refused to file", anchor="served_at"),
    limit("case_transfer.filing_after_order", MPS_FILING, 15, DAYS,
        "公安机关依检察院通知立案", "Police file the case as the procuratorate ordered"),
    limit("case_transfer.materials_handover", f"{STATE_COUNCIL_310} 第12条", 3, DAYS,
        "移交涉案物品和有关材料", "Agency hands over exhibits and materials"),
)
# fmt: on

# Who is told of each of its domain events and steps, and what they must do.
# fmt: off
TELLS: Mapping[str, tuple[Who, ...]] = MappingProxyType({
    # ----- 1. case_transfer (国务院令第310号) -----
    # The workflow answers every accepted agency event with a step event (or case.closed) that
    # carries the updated parties, so the RECEIVED rows stay empty and the step rows notify.
    "case_transfer.crime_suspected": (),
    "case_transfer.team_formed": (),
    "case_transfer.transfer_report_submitted": (),
    "case_transfer.head_decided": (),
    "case_transfer.transferred": (),
    "case_transfer.police_received": (),
    "case_transfer.police_forwarded": (),
    "case_transfer.police_decided": (),
    "case_transfer.reconsideration_requested": (),
    "case_transfer.supervision_requested": (),
    "case_transfer.reconsideration_decided": (),
    "case_transfer.police_explained": (),
    "case_transfer.supervision_opened": (),
    "case_transfer.explanation_requested": (),
    "case_transfer.filing_ordered": (),
    "case_transfer.supervision_concluded": (),
    "case_transfer.materials_handed_over": (),
    "case_transfer.criminal_outcome_reported": (),
    "case_transfer.administrative_case_closed": (),
    "case_transfer.returned_for_penalty": (),
    # The agency's own internal steps: its deadline.set (head decision, transfer) tells it.
    "case_transfer.opened": (),
    "case_transfer.team_assigned": (),
    "case_transfer.awaiting_head_decision": (),
    "case_transfer.transfer_approved": (),
    # A refusal must be visible to the procuratorate and the justice bureau (art. 5, DOMAIN.md).
    "case_transfer.transfer_refused_by_head": (inform(payload_agencies("visible_to"), "负责人不批准移送，案件由该机关继续办理",
                                                      "The head refused the transfer; the agency keeps the case"),),
    "case_transfer.sent_to_police": (act(payload_agencies("police"), "请签收移送的案件，并在3日内作出是否立案的决定",
                                         "Sign for the transferred case and decide on filing within 3 days"),
                                     inform(payload_agencies("procuratorate_copy"), "移送抄送检察院：请依法开展立案监督",
                                            "Copy of the transfer, for filing supervision")),
    # The police's own deadline.set (decision or forwarding) tells them what comes next.
    "case_transfer.accepted_by_police": (inform(CASE_AGENCY),),
    "case_transfer.forward_pending": (inform(CASE_AGENCY),),
    "case_transfer.forwarded_to_competent": (act(payload_agencies("forwarded_to"), "请签收转送的案件",
                                                 "Sign for the forwarded case"),
                                             inform(CASE_AGENCY)),
    "case_transfer.case_filed": (inform(CASE_AGENCY), inform(PROCURATORATE_PARTY)),
    "case_transfer.filing_refused": (inform(CASE_AGENCY, "可在3日内提请复议或建议检察院立案监督（第9条）",
                                            "You may ask for reconsideration or supervision within 3 days (art. 9)"),
                                     inform(PROCURATORATE_PARTY)),
    "case_transfer.reconsideration_pending": (),  # the police's deadline.set asks for the decision
    "case_transfer.refusal_upheld": (inform(CASE_AGENCY, "如仍有异议，可在3日内建议检察院立案监督",
                                            "If you still disagree, refer to the procuratorate within 3 days"),),
    "case_transfer.supervision_started": (act(payload_agencies("procuratorate"), "请审查立案监督建议",
                                              "Review the request for filing supervision"),),
    # The police's deadline.set (7 days from receipt of the request) asks for the explanation.
    "case_transfer.explanation_pending": (inform(CASE_AGENCY),),
    "case_transfer.reconsideration_concluded": (inform(CASE_AGENCY), inform(PROCURATORATE_PARTY)),
    "case_transfer.supervision_ended": (inform(CASE_AGENCY),),
    "case_transfer.explanation_received": (act(PROCURATORATE_PARTY, "请审查公安机关不立案理由",
                                               "Review the police's reasons for not filing"),
                                           inform(CASE_AGENCY)),
    "case_transfer.filing_order_issued": (inform(CASE_AGENCY),),  # the police's deadline.set orders it
    "case_transfer.refusal_final": (inform(CASE_AGENCY, "可依法自行作出行政处理（第10条）",
                                           "You may now handle the case administratively (art. 10)"),),
    "case_transfer.materials_complete": (inform(POLICE),),
    # Art. 16 escalation: the justice bureau confirms (or not) a discipline referral.
    "discipline_referral.clue_proposed": (act(payload_agencies("confirm_by", "justice_bureau"),
                                              "请确认是否向纪检监察机关移送问题线索",
                                              "Decide whether to refer a clue to the discipline commission"),),
})
# fmt: on

# What each outcome does to the time limits: the party whose duty it is and who is told of a
# breach (art. 16: the agency's supervising authority; the police's: the procuratorate).
_R = "case_transfer."
_AGENCY_DUTY = ("agency", ("supervising_authority",))
_POLICE_DUTY = ("police", ("procuratorate",))
# fmt: off
CLOCKS: Mapping[str, Clocks] = MappingProxyType({
    _R + "awaiting_head_decision": Clocks(starts=(Clock(_R + "head_decision", *_AGENCY_DUTY),)),
    _R + "transfer_approved": Clocks(
        meets=(_R + "head_decision",), starts=(Clock(_R + "transfer_after_approval", *_AGENCY_DUTY),)),
    _R + "transfer_refused_by_head": Clocks(meets=(_R + "head_decision",)),
    _R + "sent_to_police": Clocks(
        meets=(_R + "transfer_after_approval",), starts=(Clock(_R + "police_receipt", *_POLICE_DUTY),)),
    _R + "accepted_by_police": Clocks(
        meets=(_R + "police_receipt",), starts=(Clock(_R + "police_decision", *_POLICE_DUTY),)),
    _R + "forward_pending": Clocks(
        meets=(_R + "police_receipt",), starts=(Clock(_R + "police_forward", *_POLICE_DUTY),)),
    # The competent authority signs a receipt of its own (art. 7).
    _R + "forwarded_to_competent": Clocks(
        meets=(_R + "police_forward",), cancels=(_R + "police_decision",),
        starts=(Clock(_R + "police_receipt", *_POLICE_DUTY),)),
    _R + "filing_refused": Clocks(
        meets=(_R + "police_decision",),
        starts=(Clock(_R + "reconsideration_request", "agency"), Clock(_R + "supervision_request", "agency"))),
    # Filing ends every police clock: the one it answers is met, the others no longer apply.
    _R + "case_filed": Clocks(
        meets=(_R + "police_decision", _R + "reconsideration_decision", _R + "filing_after_order"),
        cancels=(_R + "police_explanation", _R + "reconsideration_request", _R + "supervision_request",
                 _R + "refer_after_reconsideration"),
        starts=(Clock(_R + "materials_handover", *_AGENCY_DUTY),)),
    _R + "reconsideration_pending": Clocks(
        meets=(_R + "reconsideration_request",),
        starts=(Clock(_R + "reconsideration_decision", *_POLICE_DUTY),)),
    _R + "reconsideration_concluded": Clocks(meets=(_R + "reconsideration_decision",)),
    _R + "refusal_upheld": Clocks(
        meets=(_R + "reconsideration_decision",), starts=(Clock(_R + "refer_after_reconsideration", "agency"),)),
    # Asked for by the agency, they are met; the procuratorate opening it on its own makes them moot.
    _R + "supervision_opened": Clocks(cancels=(_R + "supervision_request", _R + "refer_after_reconsideration")),
    _R + "supervision_started": Clocks(meets=(_R + "supervision_request", _R + "refer_after_reconsideration")),
    _R + "explanation_pending": Clocks(starts=(Clock(_R + "police_explanation", *_POLICE_DUTY),)),
    _R + "explanation_received": Clocks(meets=(_R + "police_explanation",)),
    _R + "filing_order_issued": Clocks(
        cancels=(_R + "police_explanation",), starts=(Clock(_R + "filing_after_order", *_POLICE_DUTY),)),
    _R + "materials_complete": Clocks(meets=(_R + "materials_handover",)),
})
# fmt: on

DEFINITION = Process(
    name=PROCESS,
    label_zh="行刑衔接（案件移送）",
    label_en="Administrative-to-criminal transfer",
    short_zh="行刑衔接",
    short_en="Case transfer",
    workflow="CaseTransfer",
    states=STATES,
    steps=EVENTS,
    tells=TELLS,
    clocks=CLOCKS,
    rules=RULES,
    domain_events=DOMAIN_EVENTS,
    sources=(
        "国务院令第310号《行政执法机关移送涉嫌犯罪案件的规定》(2020修订)",
        "公安部《公安机关办理刑事案件程序规定》(立案监督)",
    ),
)
