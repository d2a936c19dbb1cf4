"""The rule book: each process's steps, senders, states, time limits and recipients, written out
from the definitions the code runs on, for a justice-bureau legal officer to review.

``make docs`` writes ``contracts/rulebook/<process>.md``; ``--check`` (run by the test suite)
fails when a committed page differs from what the code says, so the book cannot drift from the
rules it describes.

Usage::

    python -m services.rulebook            # write the pages
    python -m services.rulebook --check    # exit 1, naming the stale pages, if any differ
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from contracts.agencies import KIND_LABELS
from contracts.catalog import DEFINITIONS
from contracts.common import EventSpec
from contracts.notifications import REASON_LABELS
from contracts.process import Process
from contracts.recipients import Who
from contracts.time_limits import Rule
from services.i18n import COUNTING_LABELS, ENUM_LABELS
from workflows.deadlines import env_var_for

OUT = Path(__file__).resolve().parent.parent / "contracts" / "rulebook"


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = [_row(headers), _row("---" for _ in headers)]
    lines.extend(_row(r) for r in rows)
    return lines


def _states(process: Process, names: Iterable[str]) -> str:
    out = []
    for name in sorted(names, key=[s.name for s in process.states].index):
        state = process.state(name)
        out.append(f"{state.label_zh}（`{name}`）" if state else f"`{name}`")
    return "、".join(out) or "—"


def _senders(process: Process, step: EventSpec) -> str:
    kinds = "、".join(KIND_LABELS[k][0] for k in sorted(step.senders))
    if not step.party:
        return kinds
    roles = "或".join(process.role_labels[r][0] for r in step.party)
    return f"{kinds}；限{roles}"


def _step_rows(process: Process) -> list[list[str]]:
    return [
        [
            f"`{step.type}`",
            f"{step.label_zh}<br>{step.label_en}",
            _senders(process, step),
            _states(process, step.valid_in),
            _states(process, step.leads_to) if step.leads_to else "（状态不变 / state unchanged）",
        ]
        for step in process.steps
    ]


def _length(rule: Rule) -> str:
    zh, en = COUNTING_LABELS[str(rule.counting)]
    return f"{rule.length}{zh}<br>{rule.length} {en}"


def _anchor(rule: Rule) -> str:
    if rule.anchor == "occurred_at":
        return "该步骤发生之时（`occurred_at`）"
    return f"`{rule.anchor}`"


def _rule_rows(process: Process) -> list[list[str]]:
    rules = sorted(process.rules, key=lambda r: r.name)
    return [
        [
            f"`{rule.name}`",
            f"{rule.label_zh}<br>{rule.label_en}",
            _length(rule),
            _anchor(rule),
            "<br>".join(ENUM_LABELS["Nature"][str(rule.nature)]),
            rule.source,
            f"可设置：`{env_var_for(rule.name)}`" if rule.setting else "法定，不可更改",
        ]
        for rule in rules
    ]


def _outcomes(process: Process, names: Iterable[str]) -> str:
    """Steps and outcomes by their Chinese names, with the event type."""
    labels = {d.type: d.label_zh for d in process.domain_events} | {s.type: s.label_zh for s in process.steps}
    return "<br>".join(f"{labels[n]}（`{n}`）" if n in labels else f"`{n}`" for n in names) or "—"


def _role(process: Process, role: str | None) -> str:
    if role is None:
        return "—（无特定一方 / no one party）"
    zh, en = process.role_labels[role]
    return f"{zh}<br>{en}"


def _clock_rows(process: Process) -> list[list[str]]:
    """Per rule: which outcomes start it (whose duty, who is told of a breach), meet and cancel it."""
    rows = []
    for rule in sorted(process.rules, key=lambda r: r.name):
        starts = [o for o, c in process.clocks.items() if any(k.rule == rule.name for k in c.starts)]
        clock = process.clock(rule.name)
        if clock is None:
            party, escalation = "—", "—"
        else:
            party = _role(process, clock.party)
            escalation = "<br>".join(_role(process, r) for r in clock.escalate_to) or "—（不上报 / none）"
            if clock.by_handler:
                party += "<br>（由流程按具体情形起算 / started where the case calls for it）"
        rows.append(
            [
                f"`{rule.name}`",
                _outcomes(process, starts),
                party,
                escalation,
                _outcomes(process, (o for o, c in process.clocks.items() if rule.name in c.meets)),
                _outcomes(process, (o for o, c in process.clocks.items() if rule.name in c.cancels)),
            ]
        )
    return rows


def _who(who: Who) -> str:
    reason = REASON_LABELS[who.reason][0]
    action = f"：{who.action_zh}<br>{who.action_en}" if who.action_zh else ""
    condition = "（视情况）" if who.when is not None else ""
    return f"{reason} · `{who.pick.name}`{condition}{action}"


def _recipient_rows(process: Process) -> list[list[str]]:
    types = [s.type for s in process.steps] + [d.type for d in process.domain_events]
    rows = []
    for event_type in types:
        rules = process.tells.get(event_type, ())
        told = "<br>".join(_who(w) for w in rules) if rules else "—（由随后的时限或办结通知告知）"
        rows.append([f"`{event_type}`", told])
    return rows


def render(process: Process) -> str:
    """The rule book page of one process, in zh-CN with English beside it."""
    lines = [
        f"# {process.label_zh} / {process.label_en}",
        "",
        "本页由 `make docs` 根据流程定义自动生成，请勿手工修改。"
        " Generated from the process definition by `make docs`; do not edit by hand.",
        "",
        f"- 流程标识 Process id: `{process.name}`",
        f"- 工作流 Workflow: `{process.workflow}`",
        f"- 依据 Sources: {'；'.join(process.sources) or '—'}",
    ]
    if process.confidential:
        lines.append("- 保密 Confidential: 总线、读模型与通知只载明编号与状态，不载内容（须知范围）。")
    lines += ["", "## 状态 States", ""]
    lines += _table(
        ["状态 State", "中文", "English", "结束 Closed"],
        ([f"`{s.name}`", s.label_zh, s.label_en, "是 yes" if s.closed else ""] for s in process.states),
    )
    lines += ["", "## 步骤 Steps", ""]
    lines += _table(
        ["事件 Event", "名称 Name", "发送方 Sender", "适用状态 Valid in", "进入状态 Leads to"],
        _step_rows(process),
    )
    lines += ["", "## 时限 Time limits", ""]
    lines += _table(
        [
            "规则 Rule",
            "名称 Name",
            "期限 Length",
            "起算 Counts from",
            "性质 Nature",
            "依据 Source",
            "可否设置 Setting",
        ],
        _rule_rows(process),
    )
    if process.clocks:
        lines += ["", "## 时限的起止 When each limit starts and ends", ""]
        lines += _table(
            [
                "规则 Rule",
                "起算于 Started by",
                "责任方 Whose duty",
                "逾期告知 Escalated to",
                "履行于 Met by",
                "不再适用于 Cancelled by",
            ],
            _clock_rows(process),
        )
    lines += ["", "## 通知 Who is told", ""]
    lines += _table(["事件 Event", "通知对象 Recipients"], _recipient_rows(process))
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """``{file name: content}`` of every page."""
    return {f"{p.name}.md": render(p) for p in DEFINITIONS}


def stale(out: Path = OUT) -> list[str]:
    """The pages under ``out`` that differ from the definitions, or are missing or extra."""
    expected = pages()
    found = {p.name for p in out.glob("*.md")} if out.is_dir() else set()
    changed = [
        n for n, text in expected.items() if not (out / n).is_file() or (out / n).read_text("utf-8") != text
    ]
    return sorted(changed + sorted(found - set(expected)))


def write(out: Path = OUT) -> list[Path]:
    """Write every page (and remove pages of processes that no longer exist)."""
    out.mkdir(parents=True, exist_ok=True)
    expected = pages()
    for extra in out.glob("*.md"):
        if extra.name not in expected:
            extra.unlink()
    written = []
    for name, text in expected.items():
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    return written


def main(argv: Sequence[str] = ()) -> int:
    """Write the pages, or with ``--check`` report the stale ones."""
    if "--check" in argv:
        bad = stale()
        if bad:
            print(f"contracts/rulebook is stale (run `make docs`): {', '.join(bad)}", file=sys.stderr)
            return 1
        return 0
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
