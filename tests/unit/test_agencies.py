"""The packaged agency registry is valid and answers "who supervises whom" by territory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from contracts.agencies import (
    CRIMINAL_INVESTIGATION_KINDS,
    DEFAULT_PATH,
    Agency,
    AgencyKind,
    AgencyLevel,
    agencies,
    districts,
    get_agency,
    load_agencies,
    supervising_authority,
    supervisor_of,
)

ID_RE = re.compile(r"^[a-z0-9-]{2,40}$")

COUNTIES = ("rz-dg", "rz-ls", "rz-wl", "rz-ju")  # 东港区, 岚山区, 五莲县, 莒县
ZONES = ("rz-kfq", "rz-gxq", "rz-sht")  # 经济技术开发区, 高新技术产业开发区, 山海天旅游度假区
SUPERVISOR_KINDS = (
    AgencyKind.JUSTICE,
    AgencyKind.POLICE,
    AgencyKind.PROCURATORATE,
    AgencyKind.DISCIPLINE,
    AgencyKind.REFORM_OFFICE,
)

# 国家统计局 统计用区划代码 (cut-off 2022-10-31), see contracts/agencies_sources.md; the streets a
# zone administers are counted under the zone, not under 东港区.
TOWNSHIP_COUNTS = {"rz-dg": 10, "rz-ls": 9, "rz-wl": 12, "rz-ju": 20, "rz-kfq": 2, "rz-sht": 2, "rz-gxq": 0}
WULIAN_TOWNSHIPS = {
    "五莲县洪凝街道办事处",
    "五莲县高泽街道办事处",
    "五莲县街头镇人民政府",
    "五莲县潮河镇人民政府",
    "五莲县许孟镇人民政府",
    "五莲县于里镇人民政府",
    "五莲县汪湖镇人民政府",
    "五莲县叩官镇人民政府",
    "五莲县中至镇人民政府",
    "五莲县松柏镇人民政府",
    "五莲县石场乡人民政府",
    "五莲县户部乡人民政府",
}
DONGGANG_TOWNSHIPS = {
    "日照市东港区" + name
    for name in (
        "日照街道办事处",
        "石臼街道办事处",
        "秦楼街道办事处",
        "河山镇人民政府",
        "后村镇人民政府",
        "西湖镇人民政府",
        "陈疃镇人民政府",
        "南湖镇人民政府",
        "三庄镇人民政府",
        "涛雒镇人民政府",
    )
}
ZONE_STREETS = {
    "rz-kfq": {"日照市东港区奎山街道办事处", "日照市东港区北京路街道办事处"},
    "rz-sht": {"日照市东港区卧龙山街道办事处", "日照市东港区两城街道办事处"},
    "rz-gxq": set(),  # no source says the high-tech zone administers a whole street
}
# Which of SUPERVISOR_KINDS each zone has of its own; the others resolve to the city level.
ZONE_OWN_KINDS = {
    "rz-kfq": {AgencyKind.POLICE},  # 日照市公安局经济技术开发区分局
    "rz-sht": {AgencyKind.POLICE},  # 日照市公安局山海天旅游度假区分局
    "rz-gxq": set(),
}
CITY_SUPERVISORS = {
    AgencyKind.JUSTICE: "rz-sfj",
    AgencyKind.POLICE: "rz-gaj",
    AgencyKind.PROCURATORATE: "rz-jcy",
    AgencyKind.DISCIPLINE: "rz-jwjw",
    AgencyKind.REFORM_OFFICE: "rz-bianban",
}


def _entry(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "rz-gov",
        "name_zh": "日照市人民政府",
        "name_en": "People's Government of Rizhao Municipality",
        "kind": "government",
        "level": "city",
        "parent": None,
        "district": None,
    }
    base.update(overrides)
    return base


def _write(tmp_path: Path, entries: object) -> Path:
    path = tmp_path / "agencies.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    return path


def test_packaged_file_loads() -> None:
    registry = load_agencies()
    assert registry
    assert all(isinstance(a, Agency) for a in registry.values())
    assert dict(agencies()) == registry
    assert get_agency("rz-scjgj") is not None
    assert get_agency("rz-scjgj").name_zh == "日照市市场监督管理局"
    assert get_agency("no-such-agency") is None


def test_every_kind_and_level_is_represented() -> None:
    registry = agencies()
    assert {a.kind for a in registry.values()} == set(AgencyKind)
    assert {a.level for a in registry.values()} == set(AgencyLevel)
    assert len([a for a in registry.values() if a.kind is AgencyKind.TOWNSHIP]) >= 8
    assert get_agency("rz-12345").kind is AgencyKind.GOVERNMENT


def test_ids_unique_and_well_formed() -> None:
    raw = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    ids = [entry["id"] for entry in raw]
    assert len(ids) == len(set(ids))
    assert all(ID_RE.match(i) for i in ids)
    # Rizhao's own agencies start with rz-; only the province-level superiors may not.
    assert all(e["id"].startswith("rz-") for e in raw if e["level"] != "province")
    assert {e["id"] for e in raw if not e["id"].startswith("rz-")} == {
        "sd-shuiwuj",
        "sd-hsj",
        "sd-hjj",
        "qd-hg",
        "qd-hgjs",
    }


def test_parents_and_districts_exist() -> None:
    registry = agencies()
    for agency in registry.values():
        if agency.parent is not None:
            assert registry[agency.parent].kind is AgencyKind.GOVERNMENT, agency.id
        if agency.level is AgencyLevel.TOWNSHIP:
            assert agency.parent == agency.district, agency.id
        if agency.district is not None:
            assert registry[agency.district].level is AgencyLevel.DISTRICT, agency.id


def test_district_department_is_supervised_by_its_district_procuratorate() -> None:
    found = supervisor_of("rz-dg-scjgj", AgencyKind.PROCURATORATE)
    assert found is not None and found.id == "rz-dg-jcy"
    found = supervisor_of("rz-ju-zhzfj", AgencyKind.POLICE)
    assert found is not None and found.id == "rz-ju-gaj"


def test_township_is_supervised_within_its_district() -> None:
    found = supervisor_of("rz-wl-jietou", AgencyKind.JUSTICE)
    assert found is not None and found.id == "rz-wl-sfj"
    found = supervisor_of("rz-dg-shijiu", AgencyKind.GOVERNMENT)
    assert found is not None and found.id == "rz-dg"


def test_city_department_is_supervised_by_city_justice_bureau() -> None:
    found = supervisor_of("rz-sthjj", AgencyKind.JUSTICE)
    assert found is not None and found.id == "rz-sfj"
    found = supervisor_of("rz-sthjj", AgencyKind.GOVERNMENT)
    assert found is not None and found.id == "rz-gov"  # not the 12345 hotline it runs


def test_falls_back_to_city_level() -> None:
    found = supervisor_of("rz-kfq-kuishan", AgencyKind.REFORM_OFFICE)  # the zones have no 编办
    assert found is not None and found.id == "rz-bianban"
    found = supervisor_of("rz-ls-scjgj", AgencyKind.REFORM_OFFICE)
    assert found is not None and found.id == "rz-ls-bianban"
    assert supervisor_of("no-such-agency", AgencyKind.JUSTICE) is None


def test_districts_are_the_counties_and_the_zones() -> None:
    found = districts()
    assert tuple(a.id for a in found) == COUNTIES + ZONES
    assert all(a.kind is AgencyKind.GOVERNMENT and a.level is AgencyLevel.DISTRICT for a in found)
    assert all(a.parent == "rz-gov" for a in found)


@pytest.mark.parametrize("district", COUNTIES)
@pytest.mark.parametrize("kind", SUPERVISOR_KINDS)
def test_every_county_has_its_own_supervisors(district: str, kind: AgencyKind) -> None:
    found = supervisor_of(district, kind)
    assert found is not None and found.district == district and found.level is AgencyLevel.DISTRICT


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("kind", SUPERVISOR_KINDS)
def test_zone_has_some_supervisors_of_its_own_and_the_city_supplies_the_rest(
    zone: str, kind: AgencyKind
) -> None:
    # Both the zone committee and a street it administers resolve the same way.
    for agency in [zone, *(a.id for a in _townships(zone))]:
        found = supervisor_of(agency, kind)
        assert found is not None, (agency, kind)
        if kind in ZONE_OWN_KINDS[zone]:
            assert found.district == zone and found.level is AgencyLevel.DISTRICT, (agency, kind)
        else:
            assert found.id == CITY_SUPERVISORS[kind], (agency, kind)


def _townships(district: str) -> list[Agency]:
    return [a for a in agencies().values() if a.kind is AgencyKind.TOWNSHIP and a.district == district]


def test_township_counts_match_the_source_list() -> None:
    counts = {d.id: len(_townships(d.id)) for d in districts()}
    assert counts == TOWNSHIP_COUNTS
    assert {a.name_zh for a in _townships("rz-wl")} == WULIAN_TOWNSHIPS
    assert {a.name_zh for a in _townships("rz-dg")} == DONGGANG_TOWNSHIPS
    for district in counts:
        for township in _townships(district):
            assert township.parent == district and township.level is AgencyLevel.TOWNSHIP, township.id
            assert township.id.startswith(district + "-"), township.id


def test_existing_township_ids_are_kept() -> None:
    for kept in (
        "rz-dg-shijiu",
        "rz-dg-qinlou",
        "rz-dg-rizhao",
        "rz-ls-andongwei",
        "rz-wl-jietou",
        "rz-ju-chengyang",
    ):
        assert get_agency(kept) is not None, kept
    # 奎山街道 is administered by the development zone, so it lives there.
    assert get_agency("rz-dg-kuishan") is None
    assert get_agency("rz-kfq-kuishan").district == "rz-kfq"


@pytest.mark.parametrize("zone", ZONES)
def test_zone_police_branch_and_streets(zone: str) -> None:
    police = [a for a in agencies().values() if a.kind is AgencyKind.POLICE and a.district == zone]
    if AgencyKind.POLICE in ZONE_OWN_KINDS[zone]:
        assert len(police) == 1 and police[0].parent == zone and police[0].name_zh.startswith("日照市公安局")
    else:
        assert police == []  # no sourced name: the city bureau answers for the zone
    assert {a.name_zh for a in _townships(zone)} == ZONE_STREETS[zone]
    assert not [a for a in _townships("rz-dg") if a.name_zh in ZONE_STREETS[zone]]


def test_reform_office_of_every_county() -> None:
    for district in COUNTIES:
        found = supervisor_of(district, AgencyKind.REFORM_OFFICE)
        assert found is not None and found.parent is None and "机构编制委员会办公室" in found.name_zh


def test_tax_bureau_escalates_to_the_provincial_tax_service() -> None:
    found = supervising_authority("rz-shuiwuj")
    assert found is not None and found.id == "sd-shuiwuj"
    assert found.name_zh == "国家税务总局山东省税务局" and found.level is AgencyLevel.PROVINCE


def test_other_vertical_agencies_escalate_within_their_system() -> None:
    expected = {"rz-hsj": "sd-hsj", "rz-hg": "qd-hg", "rz-hgjs": "qd-hgjs", "rz-hjj": "sd-hjj"}
    for agency, superior in expected.items():
        found = supervising_authority(agency)
        assert found is not None and found.id == superior, agency
        assert found.kind is get_agency(agency).kind and get_agency(agency).parent is None, agency
    assert get_agency("rz-hsj").kind is AgencyKind.ADMINISTRATIVE


def test_ordinary_agencies_escalate_to_the_justice_bureau_of_their_territory() -> None:
    assert supervising_authority("rz-scjgj").id == "rz-sfj"
    assert supervising_authority("rz-dg-scjgj").id == "rz-dg-sfj"
    assert supervising_authority("rz-ju-chengyang").id == "rz-ju-sfj"
    assert supervising_authority("rz-kfq-kuishan").id == "rz-sfj"  # the zones have no justice office
    assert supervising_authority("no-such-agency") is None


def test_province_entries_are_never_territorial_supervisors() -> None:
    registry = agencies()
    province = [a for a in registry.values() if a.level is AgencyLevel.PROVINCE]
    assert province and all(a.district is None and a.parent is None for a in province)
    for agency in registry:
        for kind in AgencyKind:
            found = supervisor_of(agency, kind)
            assert found is None or found.level is not AgencyLevel.PROVINCE, (agency, kind)
    assert supervisor_of("sd-shuiwuj", AgencyKind.JUSTICE) is None


def test_every_criminal_investigation_kind_is_in_the_registry() -> None:
    assert CRIMINAL_INVESTIGATION_KINDS == {
        AgencyKind.POLICE,
        AgencyKind.CUSTOMS_ANTI_SMUGGLING,
        AgencyKind.COAST_GUARD,
    }
    present = {a.kind for a in agencies().values() if a.level is not AgencyLevel.PROVINCE}
    assert CRIMINAL_INVESTIGATION_KINDS <= present
    found = supervisor_of("rz-dg-zhzfj", AgencyKind.COAST_GUARD)  # a district case at sea
    assert found is not None and found.id == "rz-hjj"
    found = supervisor_of("rz-hg", AgencyKind.CUSTOMS_ANTI_SMUGGLING)
    assert found is not None and found.id == "rz-hgjs"


def test_malformed_field_names_entry_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(), _entry(id="rz-court", kind="court")])
    with pytest.raises(ValueError, match=r"#1 \(id 'rz-court'\).*field kind"):
        load_agencies(path)


def test_bad_id_names_field(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(id="RZ_GOV")])
    with pytest.raises(ValueError, match="field id"):
        load_agencies(path)


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(phone="0633-12345")])
    with pytest.raises(ValueError, match="field phone"):
        load_agencies(path)


def test_duplicate_id_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(), _entry()])
    with pytest.raises(ValueError, match=r"#1 .*field id.*duplicate"):
        load_agencies(path)


def test_missing_parent_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(), _entry(id="rz-sfj", kind="justice", parent="rz-nowhere")])
    with pytest.raises(ValueError, match=r"rz-sfj.*field parent.*rz-nowhere"):
        load_agencies(path)


def _tax_entries(**overrides: object) -> list[dict[str, object]]:
    return [
        _entry(),
        _entry(id="sd-shuiwuj", name_zh="国家税务总局山东省税务局", kind="administrative", level="province"),
        _entry(
            id="rz-shuiwuj", name_zh="国家税务总局日照市税务局", kind="administrative", superior="sd-shuiwuj"
        )
        | overrides,
    ]


def test_superior_link_loads(tmp_path: Path) -> None:
    registry = load_agencies(_write(tmp_path, _tax_entries()))
    assert registry["rz-shuiwuj"].superior == "sd-shuiwuj"


def test_unknown_superior_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _tax_entries(superior="rz-nowhere"))
    with pytest.raises(ValueError, match=r"rz-shuiwuj.*field superior: unknown agency 'rz-nowhere'"):
        load_agencies(path)


def test_superior_of_another_system_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _tax_entries(superior="rz-gov"))
    with pytest.raises(
        ValueError, match=r"field superior: 'rz-gov' is of kind government, not administrative"
    ):
        load_agencies(path)


def test_superior_below_the_agency_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _tax_entries(superior="rz-shuiwuj"))
    with pytest.raises(ValueError, match=r"field superior: 'rz-shuiwuj' is at city level, not above"):
        load_agencies(path)


def test_province_entry_has_no_district(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(), _entry(id="sd-shuiwuj", level="province", district="rz-gov")])
    with pytest.raises(ValueError, match="district must be null for a province-level agency"):
        load_agencies(path)


def test_district_required_below_city_level(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(), _entry(id="rz-dg", level="district", parent="rz-gov")])
    with pytest.raises(ValueError, match="district is required"):
        load_agencies(path)


def test_not_a_list_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {"rz-gov": _entry()})
    with pytest.raises(ValueError, match="JSON list"):
        load_agencies(path)
