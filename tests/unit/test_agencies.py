"""The packaged agency registry is valid and answers "who supervises whom" by territory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from contracts.agencies import (
    DEFAULT_PATH,
    Agency,
    AgencyKind,
    AgencyLevel,
    agencies,
    get_agency,
    load_agencies,
    supervisor_of,
)

ID_RE = re.compile(r"^[a-z0-9-]{2,40}$")


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
    assert all(i.startswith("rz-") for i in ids)


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
    found = supervisor_of("rz-ls-scjgj", AgencyKind.REFORM_OFFICE)
    assert found is not None and found.id == "rz-bianban"
    assert supervisor_of("no-such-agency", AgencyKind.JUSTICE) is None


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


def test_district_required_below_city_level(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(), _entry(id="rz-dg", level="district", parent="rz-gov")])
    with pytest.raises(ValueError, match="district is required"):
        load_agencies(path)


def test_not_a_list_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {"rz-gov": _entry()})
    with pytest.raises(ValueError, match="JSON list"):
        load_agencies(path)
