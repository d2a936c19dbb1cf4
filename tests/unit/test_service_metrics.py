"""The metrics helpers' contracts: bounded labels, and a scrape that answers when the data
behind a gauge cannot be read."""

from __future__ import annotations

from prometheus_client import generate_latest

from services.intake.metrics import field_label
from services.metrics import ReadCollector, ServiceMetrics


def test_refusal_fields_fold_list_positions_so_labels_stay_few() -> None:
    assert field_label("payload.officers.1.name") == "payload.officers.*.name"
    assert field_label("payload.attachments[12].uri") == "payload.attachments*.uri"
    assert field_label("payload.officers.0") == "payload.officers.*"
    assert field_label("occurred_at") == "occurred_at"
    assert field_label("x" * 500) == "x" * 80


def test_a_gauge_whose_data_cannot_be_read_is_left_out_and_the_scrape_still_answers() -> None:
    metrics = ServiceMetrics("test")
    state = {"fail": True}

    def read() -> dict[str, list[tuple[dict[str, str], float]]]:
        if state["fail"]:
            raise ConnectionError("database down")
        return {"open_cases": [({"process": "p", "state": "s"}, 3.0)]}

    metrics.collect_from(ReadCollector({"open_cases": ("Open.", ("process", "state"))}, read))
    down = generate_latest(metrics.registry).decode()
    assert "lawlink_metrics_read_errors 1.0" in down and "lawlink_open_cases{" not in down
    state["fail"] = False
    up = generate_latest(metrics.registry).decode()
    assert "lawlink_metrics_read_errors 0.0" in up and 'lawlink_open_cases{process="p",state="s"} 3.0' in up
