"""The registry of Rizhao agencies that Lawlink connects, read from ``agencies.json``.

Every event names its sender by agency id, and every process must know who the *other* side is
(the procuratorate that supervises a transfer, the justice bureau that coordinates a dispute, the
township a power was delegated to). Keeping that knowledge in one validated data file, instead of
in constants scattered through workflows, means a reorganisation is a data change and a typo in
the file is caught when it is loaded, not when a deadline is missed.

Where each group of entries comes from (publication and date) is recorded in
``agencies_sources.md`` next to the data file, since JSON has no comments; update it with the data.

Conventions of the data file:

* ``parent`` is the government the agency is a department of: ``rz-gov`` for city departments,
  the district/county government (``rz-dg``, ``rz-ls``, ``rz-wl``, ``rz-ju``) or functional-zone
  administrative committee (``rz-kfq``, ``rz-gxq``, ``rz-sht``) for district departments and for
  townships. It is ``null`` for bodies that are not government departments (procuratorates,
  discipline commissions, reform offices) or are managed vertically (tax, maritime, customs,
  coast guard).
* ``district`` is the id of the district/county government for district- and township-level
  entries (a district government's ``district`` is its own id) and ``null`` at city and province
  level. The functional zones (日照经济技术开发区, 日照高新技术产业开发区, 山海天旅游度假区) are
  not statutory districts, but their administrative committees run the streets they administer
  and their own police branches, so each is modelled as a district-level ``government`` with its
  own district id; the streets it administers have that zone as ``parent`` and ``district``
  (``rz-kfq-kuishan``), not 东港区, even where the street is statutorily part of 东港区.
* ``superior`` is set only on vertically managed agencies (tax, maritime, customs, customs
  anti-smuggling, coast guard): the id of the superior authority *of their own system*
  (国家税务总局日照市税务局 → 国家税务总局山东省税务局). It must name an existing agency of the same
  kind at a higher tier. The local government does not direct these agencies, so it is that
  superior, not the city justice bureau, that is told when they are late
  (:func:`supervising_authority`).
* ``level`` ``province`` is used only for those superior authorities (Shandong or Qingdao bodies
  outside Rizhao's territory). They have no ``district`` and are never picked for territorial
  supervision by :func:`supervisor_of`.
* Ids of city-, district- and township-level entries start with ``rz-``; district- and
  township-level ids start with their district id (``rz-dg-shijiu``). Province-level ids start
  with the seat of the body (``sd-`` Shandong, ``qd-`` Qingdao).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.envelope import AGENCY_ID_PATTERN

DEFAULT_PATH = Path(__file__).parent / "agencies.json"


class AgencyKind(StrEnum):
    """What role an agency plays; processes route by kind, not by name."""

    ADMINISTRATIVE = "administrative"  # 行政执法机关
    POLICE = "police"  # 公安
    PROCURATORATE = "procuratorate"  # 检察院
    DISCIPLINE = "discipline"  # 纪委监委
    JUSTICE = "justice"  # 司法局 (行政执法监督)
    TOWNSHIP = "township"  # 乡镇人民政府 / 街道办事处
    GOVERNMENT = "government"  # 人民政府 and its service hotline
    REFORM_OFFICE = "reform_office"  # 机构编制委员会办公室 (编办)
    CUSTOMS_ANTI_SMUGGLING = "customs_anti_smuggling"  # 海关缉私
    COAST_GUARD = "coast_guard"  # 海警


KIND_LABELS: dict[str, tuple[str, str]] = {
    AgencyKind.ADMINISTRATIVE: ("行政执法机关", "administrative enforcement agency"),
    AgencyKind.POLICE: ("公安机关", "police"),
    AgencyKind.PROCURATORATE: ("检察机关", "procuratorate"),
    AgencyKind.DISCIPLINE: ("纪检监察机关", "discipline commission"),
    AgencyKind.JUSTICE: ("司法行政机关", "justice bureau"),
    AgencyKind.TOWNSHIP: ("乡镇（街道）", "township"),
    AgencyKind.GOVERNMENT: ("人民政府", "government"),
    AgencyKind.REFORM_OFFICE: ("机构编制部门", "institutional reform office"),
    AgencyKind.CUSTOMS_ANTI_SMUGGLING: ("海关缉私部门", "customs anti-smuggling"),
    AgencyKind.COAST_GUARD: ("海警机构", "coast guard"),
}
"""What each kind of agency is called, in zh-CN and English."""


CRIMINAL_INVESTIGATION_KINDS: frozenset[AgencyKind] = frozenset(
    {AgencyKind.POLICE, AgencyKind.CUSTOMS_ANTI_SMUGGLING, AgencyKind.COAST_GUARD}
)
"""Kinds of agency that may be the competent authority for a suspected crime.

An administrative enforcement agency transfers a suspected crime to the police (国务院令第310号
《行政执法机关移送涉嫌犯罪案件的规定》), but smuggling is investigated by the customs anti-smuggling
police and crimes at sea by the coast guard. Art. 7 has the police that receive a case outside their
jurisdiction forward it to the competent authority, so a transfer may end at any of these kinds.
"""


class AgencyLevel(StrEnum):
    """Administrative tier; supervision is looked up within the same tier first."""

    PROVINCE = "province"  # superior authorities of vertically managed agencies only
    CITY = "city"
    DISTRICT = "district"  # 区/县
    TOWNSHIP = "township"  # 乡/镇/街道


_RANK: Mapping[AgencyLevel, int] = MappingProxyType(
    {AgencyLevel.TOWNSHIP: 0, AgencyLevel.DISTRICT: 1, AgencyLevel.CITY: 2, AgencyLevel.PROVINCE: 3}
)
"""Tiers from lowest to highest, to check that a ``superior`` really is above its agency."""

_NO_DISTRICT = frozenset({AgencyLevel.CITY, AgencyLevel.PROVINCE})
"""Tiers whose entries have no district."""


class Agency(BaseModel):
    """One agency of the registry.

    Attributes:
        id: Stable ASCII id used in subjects and envelopes (``rz-scjgj``).
        name_zh: Official Chinese name, shown to officers.
        name_en: English name, for logs and documentation.
        kind: Role of the agency.
        level: Tier of the agency.
        parent: Id of the government it is a department of, if any.
        district: Id of the district/county government for district and township levels.
        superior: For a vertically managed agency, the id of the superior authority of its own
            system (tax, maritime, customs, coast guard); ``None`` otherwise.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=AGENCY_ID_PATTERN, examples=["rz-scjgj"])
    name_zh: str = Field(min_length=1, max_length=100, examples=["日照市市场监督管理局"])
    name_en: str = Field(
        min_length=1, max_length=200, examples=["Rizhao Municipal Administration for Market Regulation"]
    )
    kind: AgencyKind
    level: AgencyLevel
    parent: str | None = Field(default=None, pattern=AGENCY_ID_PATTERN)
    district: str | None = Field(default=None, pattern=AGENCY_ID_PATTERN)
    superior: str | None = Field(default=None, pattern=AGENCY_ID_PATTERN, examples=["sd-shuiwuj"])

    @model_validator(mode="after")
    def _district_matches_level(self) -> Self:
        """City and province entries have no district; lower tiers must say which one they are in."""
        if self.level in _NO_DISTRICT and self.district is not None:
            raise ValueError(f"district must be null for a {self.level}-level agency")
        if self.level not in _NO_DISTRICT and self.district is None:
            raise ValueError(f"district is required for a {self.level}-level agency")
        if self.district is not None and not (
            self.id == self.district or self.id.startswith(self.district + "-")
        ):
            raise ValueError(f"id must start with its district id {self.district!r}")
        return self


def _describe(index: int, raw: Any) -> str:
    """Name an entry for an error message by position and, when readable, by id."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"agencies entry #{index} (id {raw['id']!r})"
    return f"agencies entry #{index}"


def _check_links(registry: dict[str, Agency]) -> None:
    """Refuse parents, districts and superiors that do not point at a suitable existing agency.

    A dangling or wrong-kind link would make ``supervisor_of`` or ``supervising_authority``
    silently answer about the wrong jurisdiction, so the whole file is refused instead.
    """
    for index, agency in enumerate(registry.values()):
        where = _describe(index, {"id": agency.id})
        if agency.parent is not None:
            parent = registry.get(agency.parent)
            if parent is None:
                raise ValueError(f"{where}: field parent: unknown agency {agency.parent!r}")
            if parent.kind is not AgencyKind.GOVERNMENT:
                raise ValueError(
                    f"{where}: field parent: {agency.parent!r} is a {parent.kind}, not a government"
                )
        if agency.district is not None:
            district = registry.get(agency.district)
            if district is None:
                raise ValueError(f"{where}: field district: unknown agency {agency.district!r}")
            if (
                district.kind is not AgencyKind.GOVERNMENT
                or district.level is not AgencyLevel.DISTRICT
                or district.district != district.id
            ):
                raise ValueError(
                    f"{where}: field district: {agency.district!r} is not a district/county government"
                )
        if agency.superior is not None:
            _check_superior(where, agency, registry.get(agency.superior))
        seen = {agency.id}
        current = agency
        while current.parent is not None:
            if current.parent in seen:
                raise ValueError(f"{where}: field parent: cycle through {current.parent!r}")
            seen.add(current.parent)
            current = registry[current.parent]


def _check_superior(where: str, agency: Agency, superior: Agency | None) -> None:
    """A superior must exist, be of the agency's own system (same kind) and sit on a higher tier.

    The tier rule also rules out an agency being its own superior and cycles of superiors.
    """
    if superior is None:
        raise ValueError(f"{where}: field superior: unknown agency {agency.superior!r}")
    if superior.kind is not agency.kind:
        raise ValueError(
            f"{where}: field superior: {superior.id!r} is of kind {superior.kind}, not {agency.kind} "
            "(the superior authority must be of the agency's own system)"
        )
    if _RANK[superior.level] <= _RANK[agency.level]:
        raise ValueError(
            f"{where}: field superior: {superior.id!r} is at {superior.level} level, "
            f"not above the {agency.level}-level agency"
        )


def load_agencies(path: Path | None = None) -> dict[str, Agency]:
    """Read and validate the agency registry.

    Args:
        path: JSON file to read; defaults to ``agencies.json`` next to this module.

    Returns:
        The agencies by id, in file order.

    Raises:
        ValueError: The file is not a JSON list, an entry is invalid, an id is duplicated, a
            ``parent``/``district`` does not name a suitable existing government, or a ``superior``
            does not name an existing agency of the same kind on a higher tier. The message
            names the entry and the field, so the file can be fixed without a debugger.
        OSError: The file cannot be read.
    """
    source = DEFAULT_PATH if path is None else path
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise ValueError(f"{source}: expected a JSON list of agencies, got {type(raw).__name__}")

    registry: dict[str, Agency] = {}
    for index, entry in enumerate(raw):
        where = _describe(index, entry)
        try:
            agency = Agency.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"field {'.'.join(str(part) for part in err['loc']) or '(entry)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ValueError(f"{where}: {problems}") from exc
        if agency.id in registry:
            raise ValueError(f"{where}: field id: duplicate id {agency.id!r}")
        registry[agency.id] = agency
    _check_links(registry)
    return registry


@cache
def agencies() -> Mapping[str, Agency]:
    """The packaged registry, loaded once per process.

    Returns a read-only view so that no caller can alter what every other caller sees.
    """
    return MappingProxyType(load_agencies())


def get_agency(agency_id: str) -> Agency | None:
    """The packaged agency with this id, or ``None`` if there is none (e.g. a forged sender)."""
    return agencies().get(agency_id)


def supervisor_of(agency_id: str, kind: AgencyKind) -> Agency | None:
    """The agency of ``kind`` responsible for the jurisdiction of ``agency_id``.

    Supervision follows territory: a district department or a township is watched by the
    procuratorate, police, discipline commission, justice bureau or reform office of its own
    district/county (or functional zone), a city department by the city-level one. When the
    district has no agency of that kind (a functional zone has no procuratorate of its own) the
    city-level one is returned. Province-level entries (superiors of vertically managed agencies)
    are outside Rizhao's territory: they are never returned, and asking about one returns ``None``.

    When several agencies of the kind share the jurisdiction (the city government and the 12345
    hotline it runs), the one that is not a department of another candidate wins, then file order.
    The answer may be the agency itself, e.g. a district justice bureau asking for its justice bureau.

    Args:
        agency_id: Id of the supervised agency.
        kind: Kind of the supervising agency wanted.

    Returns:
        The supervising agency, or ``None`` if ``agency_id`` is unknown or province-level, or no
        agency of ``kind`` exists in the district or at city level.
    """
    registry = agencies()
    agency = registry.get(agency_id)
    if agency is None or agency.level is AgencyLevel.PROVINCE:
        return None
    if agency.district is not None:
        found = _pick(registry, kind, AgencyLevel.DISTRICT, agency.district)
        if found is not None:
            return found
    return _pick(registry, kind, AgencyLevel.CITY, None)


def supervising_authority(agency_id: str) -> Agency | None:
    """Who is notified when ``agency_id`` is late at the head-decision or transfer step of a case transfer.

    When an agency does not transfer a suspected crime in time, 国务院令第310号 art. 16 has it
    "由本级或者上级人民政府，或者实行垂直管理的上级行政机关，责令限期移送" (ordered to transfer within a
    time limit). For a vertically managed agency (one with ``superior``: tax,
    maritime, customs, coast guard) the local government has no authority over it, so the superior
    authority of its own system is notified. For every other agency it is the government of its
    territory, acting through its enforcement-supervision office: the justice bureau returned by
    ``supervisor_of(agency_id, AgencyKind.JUSTICE)`` (the district's, else the city's).

    Args:
        agency_id: Id of the agency that is late.

    Returns:
        The authority to notify, or ``None`` if ``agency_id`` is unknown or no such authority is
        registered (e.g. for a province-level entry without a superior).
    """
    agency = agencies().get(agency_id)
    if agency is None:
        return None
    if agency.superior is not None:
        return agencies().get(agency.superior)
    return supervisor_of(agency_id, AgencyKind.JUSTICE)


def districts() -> tuple[Agency, ...]:
    """The district-level governments, in file order.

    These are the four districts/counties (东港区, 岚山区, 五莲县, 莒县) and the functional zones'
    administrative committees (经济技术开发区, 高新技术产业开发区, 山海天旅游度假区): the entries whose
    id is their own ``district``, i.e. every jurisdiction that ``supervisor_of`` looks in before
    falling back to the city.
    """
    return tuple(
        a
        for a in agencies().values()
        if a.kind is AgencyKind.GOVERNMENT and a.level is AgencyLevel.DISTRICT and a.district == a.id
    )


def _pick(
    registry: Mapping[str, Agency], kind: AgencyKind, level: AgencyLevel, district: str | None
) -> Agency | None:
    """The head agency of ``kind`` at one tier and district, if any."""
    candidates = [
        a for a in registry.values() if a.kind is kind and a.level is level and a.district == district
    ]
    ids = {a.id for a in candidates}
    for candidate in candidates:
        if candidate.parent not in ids:
            return candidate
    return candidates[0] if candidates else None
