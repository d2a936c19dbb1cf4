"""The committed rule book says what the code does: it is regenerated and compared, and its pages
carry the numbers, sources and words a legal officer checks."""

from __future__ import annotations

from pathlib import Path

from contracts.catalog import DEFINITIONS
from services import rulebook


def test_committed_rulebook_is_current() -> None:
    assert rulebook.stale() == [], "contracts/rulebook is stale: run `make docs`"


def test_a_changed_or_missing_page_is_reported(tmp_path: Path) -> None:
    rulebook.write(tmp_path)
    assert rulebook.stale(tmp_path) == []
    (tmp_path / "case_transfer.md").write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / "reverse_transfer.md").unlink()
    (tmp_path / "gone_process.md").write_text("old\n", encoding="utf-8")
    assert rulebook.stale(tmp_path) == ["case_transfer.md", "gone_process.md", "reverse_transfer.md"]
    assert rulebook.main(["--check"]) == 0  # the committed book, not tmp_path


def test_a_page_names_each_step_state_limit_and_recipient() -> None:
    page = rulebook.render(next(p for p in DEFINITIONS if p.name == "case_transfer"))
    # A statutory limit with its length, unit, start and source.
    head = next(line for line in page.splitlines() if "`case_transfer.head_decision`" in line)
    assert "3日" in head and "第5条" in head and "法定，不可更改" in head and "occurred_at" in head
    # A step with its sender's kind and case role, its valid state and where it leads.
    step = next(line for line in page.splitlines() if line.startswith("| `case_transfer.police_received`"))
    assert "公安机关" in step and "限本案的公安机关" in step and "已移送公安机关（`transferred`）" in step
    assert "公安机关已接收（`received`）" in step
    # Who is told, with what they must do, in both languages.
    sent = next(
        line for line in page.splitlines() if line.startswith("| `case_transfer.supervision_started`")
    )
    assert "须办理" in sent and "请审查立案监督建议" in sent
    confidential = rulebook.render(next(p for p in DEFINITIONS if p.confidential))
    assert "保密 Confidential" in confidential and "`hotline.complaint_received`" in confidential
