"""The agency officer's page lists the agency's cases as the case list does: a page at a time
with the total, sortable, filtered, the view in the URL (so a link or a reload keeps it), and
never another agency's cases; ``/api/agency`` answers the same page with its totals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from contracts.domain import DomainEvent
from tests.unit.test_console_app import NOW, _deadline, _ev
from tests.unit.test_console_townships import Env, console_over

CT, JD = "case_transfer", "jurisdiction_dispute"
OWN_TRANSFERS = 23  # more than one page of 20
USERS: dict[str, tuple[str, str | None, bool]] = {
    "officer": ("agency_officer", "rz-scjgj", False),
    "other": ("agency_officer", "rz-sthjj", False),
}


def _events() -> list[DomainEvent]:
    """The market regulator's transfers (CT-A01 the most recently updated, one hour apart; CT-A05
    with a limit due soonest), two of its disputes, and the environment bureau's own cases."""
    events = [
        _ev(
            CT,
            f"CT-A{n:02d}",
            1,
            f"{CT}.opened",
            "investigating",
            actor="rz-scjgj",
            parties=("rz-scjgj", "rz-gaj"),
            payload={"agency": "rz-scjgj", "case_title": f"日照某商贸第{n}号案"},
            at=NOW - timedelta(hours=n),
            deadline=_deadline(
                f"{CT}.head_decision", "rz-scjgj", NOW + timedelta(days=1 if n == 5 else 10 + n)
            )
            if n % 5 == 0
            else None,
        )
        for n in range(1, OWN_TRANSFERS + 1)
    ]
    events += [
        _ev(
            JD,
            f"JD-A{n}",
            1,
            f"{JD}.opened",
            "negotiating",
            actor="rz-scjgj",
            parties=("rz-scjgj", "rz-zhzfj"),
            payload={"agency": "rz-scjgj", "case_title": f"管辖争议{n}"},
            at=NOW - timedelta(days=2, hours=n),
        )
        for n in (1, 2)
    ]
    events += [
        _ev(
            CT,
            f"CT-E{n}",
            1,
            f"{CT}.opened",
            "investigating",
            actor="rz-sthjj",
            parties=("rz-sthjj", "rz-gaj"),
            payload={"agency": "rz-sthjj", "case_title": f"环境案{n}"},
            at=NOW - timedelta(minutes=n),
        )
        for n in (1, 2)
    ]
    return events


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    app, engine = console_over(tmp_path_factory.mktemp("console-agency"), _events(), USERS)
    with TestClient(app):
        env = Env(app, engine)
        yield {name: env.client(name) for name in USERS}
    engine.dispose()


def _listed(page: str) -> list[str]:
    """The case ids of the agency's cases table, in its order."""
    table = page[page.index('id="agency-cases"') :]
    table = table[: table.index("</table>")]
    return re.findall(r'<tr data-case="([^"]+)"', table)


def _pager(page: str) -> str:
    start = page.index('<nav class="pager"', page.index('id="agency-cases-section"'))
    return page[start : page.index("</nav>", start)]


def test_the_agency_page_lists_its_cases_a_page_at_a_time_with_the_total(
    clients: dict[str, TestClient],
) -> None:
    officer = clients["officer"]
    first = officer.get("/agency?per_page=20").text
    assert _listed(first) == [f"CT-A{n:02d}" for n in range(1, 21)]  # latest update first
    pager = _pager(first)
    assert "共 25 件，第 1/2 页" in pager and 'href="/agency?per_page=20&amp;page=2"' in pager
    second = officer.get("/agency?per_page=20&page=2").text
    assert _listed(second) == ["CT-A21", "CT-A22", "CT-A23", "JD-A1", "JD-A2"]
    assert "共 25 件，第 2/2 页" in _pager(second)
    # Another agency's cases are never on it, and its own officer sees only those.
    assert not {"CT-E1", "CT-E2"} & set(_listed(first) + _listed(second))
    assert _listed(clients["other"].get("/agency").text) == ["CT-E1", "CT-E2"]
    # The duties the agency must do next are still above the list.
    assert first.index('id="todo"') < first.index('id="agency-cases"') and "CT-A05" in first


def test_filters_and_sort_live_in_the_url_and_the_links_keep_them(clients: dict[str, TestClient]) -> None:
    officer = clients["officer"]
    disputes = officer.get(f"/agency?process={JD}").text
    assert _listed(disputes) == ["JD-A1", "JD-A2"] and "共 2 件，第 1/1 页" in _pager(disputes)
    assert re.search(rf'<option value="{JD}" selected>', disputes)
    found = officer.get("/agency", params={"q": "第7号"}).text
    assert _listed(found) == ["CT-A07"]
    soonest = officer.get("/agency?sort=due&order=asc").text
    assert _listed(soonest)[:4] == ["CT-A05", "CT-A10", "CT-A15", "CT-A20"]  # then those with none due
    # A column's sort link keeps the filter; the live refresh re-reads the same view.
    sorted_link = re.search(r'<a href="(/agency\?[^"]*sort=case_id[^"]*)"', disputes)
    assert sorted_link is not None and f"process={JD}" in sorted_link.group(1)
    by_id = officer.get(sorted_link.group(1).replace("&amp;", "&")).text
    assert _listed(by_id) == ["JD-A1", "JD-A2"]
    assert f'hx-get="/agency?process={JD}"' in disputes
    bad = officer.get("/agency?process=nonsense")
    assert bad.status_code == 422 and "process" in bad.text


def test_the_agency_api_answers_the_same_page_with_its_totals(clients: dict[str, TestClient]) -> None:
    officer = clients["officer"]
    resp = officer.get("/api/agency?per_page=20&page=2")
    body = resp.json()
    assert [c["case_id"] for c in body["cases"]] == ["CT-A21", "CT-A22", "CT-A23", "JD-A1", "JD-A2"]
    assert body["cases_paging"] == {
        "total": 25,
        "page": 2,
        "pages": 2,
        "per_page": 20,
        "sort": "updated",
        "order": "desc",
    }
    assert resp.headers["X-Total-Count"] == "25" and resp.headers["X-Pages"] == "2"
    assert body["agency"] == "rz-scjgj" and [t["case_id"] for t in body["todo"]][0] == "CT-A05"
    due = officer.get(f"/api/agency?process={CT}&sort=due&order=asc").json()
    assert [c["case_id"] for c in due["cases"][:4]] == ["CT-A05", "CT-A10", "CT-A15", "CT-A20"]
    assert due["cases"][0]["next_due_at"] is not None and due["cases_paging"]["total"] == OWN_TRANSFERS
    bad = officer.get("/api/agency?per_page=7")
    assert bad.status_code == 422 and bad.json()["field"] == "per_page"
