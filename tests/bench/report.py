"""The table ``make bench`` prints (the same figures as ``.lawlink/bench.json``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _ms(p: dict[str, Any]) -> str:
    return f"p50 {p['p50']} / p95 {p['p95']} / p99 {p['p99']} ms (n={p['n']})"


def _mib(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} MiB"


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(section, figure, value, ratio or goal) for every figure of a run."""
    out: list[tuple[str, str, str, str]] = []
    raw = result["raw"]
    t = raw["temporal_starts"]
    out.append(
        (
            "1 raw",
            "Temporal no-op workflow starts",
            f"{t['rate']}/s ({t['starts']} starts, {t['concurrency']} in flight)",
            "= 1.00 (yardstick)",
        )
    )
    for name, shape in t.get("shapes", {}).items():
        label = "3 local activities" if "Local" in name else "3 activities"
        out.append(
            (
                "1 raw",
                f"engine only: update-with-start, {label}",
                f"{shape['rate']}/s (Temporal CPU {shape['cpu_ms_per_event'].get('temporal')} ms/event)",
                f"{round(shape['rate'] / t['rate'], 3)} of raw",
            )
        )
    js = raw["jetstream"]
    out.append(("1 raw", "JetStream publish, sync", f"{js['sync']['rate']}/s ({js['message_bytes']} B)", ""))
    out.append(
        (
            "1 raw",
            "JetStream publish, pipelined",
            f"{js['pipelined']['rate']}/s (window {js['pipelined']['window']})",
            "",
        )
    )
    d = raw["direct_update_with_start"]
    out.append(
        (
            "1 raw",
            "real workflow, intake code without NATS",
            f"{d['rate']}/s ({d['events']} events; Temporal CPU {d['cpu_ms_per_event'].get('temporal')} ms/event)",
            f"{d['ratio_to_raw_start']} of raw",
        )
    )
    shared = result.get("ingest_shared_cores")
    for run in result["ingest"] + ([shared] if shared else []):
        beside = run.get("raw_beside")
        yardstick = (
            f"{run['ratio_to_raw_start']} of raw beside it (goal ≥ 0.9; {beside['before']['starts']} no-op starts "
            f"at {beside['before']['rate']}/s before, {beside['after']['rate']}/s after); "
            f"{run['ratio_to_first_raw_start']} of the first raw"
            if beside
            else f"{run['ratio_to_raw_start']} of raw (goal ≥ 0.9)"
        )
        out.append(
            (
                "2 ingest",
                f"{run['events']} opening events via NATS → intake"
                + (", shared cores (no core of its own for Temporal)" if run is shared else ""),
                f"{run['rate']}/s started (all acked {run['seconds_to_all_acked']} s); first steps {run.get('first_step_rate')}/s"
                + (
                    f", {run['first_steps_while_starting']} of them while the starts went on"
                    if "first_steps_while_starting" in run
                    else ""
                ),
                f"{yardstick}; {run['ratio_to_direct']} of direct; "
                f"{run.get('ratio_to_engine_shape')} of engine-only 3 activities",
            )
        )
    if result["ingest"]:
        last = result["ingest"][-1]
        cpu = sorted(last["cpu_ms_per_event"].items(), key=lambda kv: -kv[1])
        out.append(
            (
                "2 ingest",
                f"CPU ms per event ({last['events']} run)",
                ", ".join(f"{k} {v}" for k, v in cpu),
                "where the time goes",
            )
        )
        starting = last.get("cpu_ms_per_event_while_starting")
        if starting:
            cpu = sorted(starting.items(), key=lambda kv: -kv[1])
            out.append(
                (
                    "2 ingest",
                    f"CPU ms per event until all {last['events']} were started",
                    ", ".join(f"{k} {v}" for k, v in cpu),
                    "what the starts shared the cores with",
                )
            )
    cost = result.get("tracing")
    if cost:
        out.append(
            (
                "2 ingest",
                f"{cost['on']['events']} opening events, tracing on (100 % sampled, OTLP) vs off",
                f"{cost['on']['rate']}/s on, {cost['off']['rate']}/s off "
                f"({cost['exported']['requests']} OTLP exports, {cost['exported']['bytes']} bytes)",
                f"judged against the raw starts beside each: {cost['raw_ratio_on']} on, "
                f"{cost['raw_ratio_off']} off = {cost.get('judged_ratio_on_to_off')}; CPU ms/event added "
                + ", ".join(f"{k} {v:+}" for k, v in cost.get("cpu_ms_per_event_added", {}).items()),
            )
        )
    cluster = result.get("cluster")
    if cluster:
        pub, ingest = cluster["publish"], cluster["ingest"]
        for mode in ("sync", "pipelined"):
            out.append(
                (
                    "2 cluster",
                    f"JetStream publish on 3 nodes, sync_interval always, {mode}",
                    f"R1 {pub['R1'][mode]['rate']}/s, R3 {pub['R3'][mode]['rate']}/s",
                    f"R3/R1 = {pub[f'{mode}_ratio_r3_to_r1']}",
                )
            )
        one, two = ingest["intake_x1"], ingest["intake_x2"]
        out.append(
            (
                "2 cluster",
                f"{one['accepted']} events ({one['accepted'] // 3} cases x 3) end to end, 1 vs 2 intake replicas",
                f"{one['rate']}/s with 1, {two['rate']}/s with 2 (2 workers, registries, notifiers)",
                f"2/1 = {ingest['ratio_two_to_one']}; lost {one['lost']}+{two['lost']}, "
                f"out of order {one['out_of_order']}+{two['out_of_order']}",
            )
        )
    alone = result.get("intake_alone")
    if alone:
        again = raw["temporal_starts_again"]
        out.append(
            (
                "2 ingest",
                "raw no-op starts again, after the ingest runs",
                f"{again['rate']}/s ({again['starts']} starts, {again['concurrency']} in flight)",
                f"{round(again['rate'] / t['rate'], 3)} of the first measurement",
            )
        )
        out.append(
            (
                "2 ingest",
                f"{alone['events']} opening events via NATS → intake, worker stopped",
                f"{alone['rate']}/s started (intake CPU {alone['cpu_ms_per_event'].get('intake')} ms/event)",
                f"{alone['ratio_to_raw_start_again']} of raw again: what intake + NATS add",
            )
        )
    lat = result["latency"]
    out.append(
        (
            "3 latency",
            f"publish → lawlink.out @ {lat['offered_rate']}/s",
            _ms(lat["publish_to_out_ms"]),
            "50% of max rate",
        )
    )
    out.append(
        (
            "3 latency",
            f"publish → registry row @ {lat['offered_rate']}/s",
            _ms(lat["publish_to_registry_ms"]),
            "",
        )
    )
    for db, rm in result.get("read_model", {}).items():
        for key in ("timeline", "timeline_page", "cases", "inbox"):
            if key not in rm:
                continue
            q = rm[key]
            if key == "timeline":
                what = f"GET timeline, {q['items']} entries"
            elif key == "timeline_page":
                what = (
                    f"GET timeline page ({q['items']} of {rm['seeded']['timeline_case_entries']} entries, "
                    f"offset {q['params']['offset']}), goal p99 < 20 ms"
                )
            elif key == "cases":
                what = f"GET /api/cases?process&state, {rm['seeded']['cases']} cases"
            else:
                what = (
                    f"coordinator inbox list_inbox(agency), {rm['seeded']['inbox']['dispute_tasks']} disputes"
                )
            http = (
                "HTTP —"
                if q["http_ms"] is None
                else f"HTTP p50 {q['http_ms']['p50']} / p99 {q['http_ms']['p99']} ms"
            )
            out.append(
                (
                    f"4 read {db}",
                    what,
                    f"{http}; SQL p50 {q['sql_ms']['p50']} / p99 {q['sql_ms']['p99']} ms",
                    f"index ✓ ({q.get('access')})" if q["uses_index"] else f"NO INDEX ✗ ({q.get('access')})",
                )
            )
    from tests.bench.statistics import rows as statistics_rows

    out.extend(statistics_rows(result))
    from tests.bench.lists import rows as list_rows

    out.extend(list_rows(result))
    lt = result.get("long_timers")
    if lt:
        rss = lt["rss_mib"]
        out.append(
            (
                "5 long timers",
                "open workflows, each on its deadline timers",
                ", ".join(
                    f"{k} {v}"
                    for k, v in lt.get("open_by_type", {lt["workflow_type"]: lt["open_workflows"]}).items()
                ),
                f"{lt['open_workflows']} {lt['workflow_type']} (goal ≥ 10000)",
            )
        )
        opened = lt.get("opened_by_bench")
        if opened:
            days = opened["review_timer_days_from_now"]
            out.append(
                (
                    "5 long timers",
                    f"{opened['delegations']} delegations granted + accepted via intake",
                    f"all in effect after {opened['seconds_to_all_effective']} s "
                    f"({opened['effective_per_second']}/s); sampled states {lt.get('sampled_states')}",
                    f"review timers due in {days['min']}–{days['max']} days",
                )
            )
        out.append(
            (
                "5 long timers",
                "RSS worker / Temporal / intake / registry / nats",
                " / ".join(_mib(rss.get(k)) for k in ("worker", "temporal", "intake", "registry", "nats")),
                "",
            )
        )
        out.append(
            ("5 long timers", "status query of a sampled open workflow", _ms(lt["status_query_ms"]), "")
        )
    for g in result.get("growth", []):
        out.append(
            (
                "6 growth",
                f"after {g['after_events']} events",
                f"ingest {g['ingest_rate']}/s; p99 →out {g['p99_publish_to_out_ms']} ms, →registry {g['p99_publish_to_registry_ms']} ms",
                f"{g['ingest_ratio_to_raw_start']} of raw beside it",
            )
        )
    return out


def layout_line(result: dict[str, Any]) -> str:
    """Which CPUs the dev server had, and which the rest (tests/bench/stack.py ``CpuLayout``)."""
    layout = result.get("cpu_layout")
    if not layout:
        return "CPU layout not recorded"
    if layout["temporal"] == layout["everything_else"]:
        return f"every process on CPUs {layout['temporal']}"
    return f"Temporal on CPUs {layout['temporal']}, everything else on {layout['everything_else']}"


def markdown(result: dict[str, Any]) -> str:
    """The table as Markdown (for tests/bench/README.md)."""
    lines = ["| section | figure | value | ratio / goal |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(result)]
    return "\n".join(lines)


def print_table(result: dict[str, Any]) -> None:
    """Print the figures, the query plans and the notes."""
    console = Console()
    table = Table(
        title=f"Lawlink bench ({result['mode']}, {result['wall_seconds']} s) on "
        f"{result['machine']['nproc']} × {result['machine']['cpu']}; {layout_line(result)}"
    )
    for name in ("section", "figure", "value", "ratio / goal"):
        table.add_column(name, overflow="fold")
    for row in rows(result):
        table.add_row(*row)
    console.print(table)
    for db, rm in result.get("read_model", {}).items():
        for key in ("timeline", "timeline_page", "cases", "inbox"):
            if key not in rm:
                continue
            console.print(f"[bold]{db} {key} plan[/bold]: {rm[key]['sql']}")
            for line in rm[key]["plan"]:
                console.print(f"    {line}", markup=False)
    for note in result.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}")
