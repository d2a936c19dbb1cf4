"""The statistics charts as SVG: each one parses as XML, names itself and lists its figures in a
text alternative (``<title>``/``<desc>`` wired to ``aria-labelledby``), and draws what it is given:
a point per month at the height of its value, a bar per agency as long as its share, rates
against a fixed 100 %.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from services.console.stat_charts import Series, count_bars, nice_step, percent, rate_bars, trend_chart
from services.console.svg import bar_chart

NS = {"s": "http://www.w3.org/2000/svg"}
MONTHS = ["2026-09", "2026-10", "2026-11"]


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def _alternative(root: ET.Element) -> tuple[str, str]:
    """The chart's name and description, found through ``aria-labelledby`` as a reader does."""
    assert root.get("role") == "img"
    ids = (root.get("aria-labelledby") or "").split()
    found = {el.get("id"): (el.text or "") for el in root.iter() if el.get("id")}
    assert len(ids) == 2 and all(i in found for i in ids), root.get("aria-labelledby")
    title, desc = (found[i] for i in ids)
    assert root.find("s:title", NS) is not None and root.find("s:desc", NS) is not None
    return title, desc


def test_trend_chart_points_sit_at_their_values_and_the_desc_lists_every_one() -> None:
    svg = trend_chart(
        MONTHS,
        [Series("移送", [1, 4, 2]), Series("立案", [0, None, 2])],
        title="案件移送月度趋势",
        chart_id="trend-transfer",
    )
    root = _parse(svg)
    title, desc = _alternative(root)
    assert title == "案件移送月度趋势"
    assert desc == "移送：2026-09 1，2026-10 4，2026-11 2；立案：2026-09 0，2026-10 —，2026-11 2"

    points = root.findall(".//s:circle[@class='point']", NS)
    assert [float(p.get("data-value") or "nan") for p in points] == [1, 4, 2, 0, 2]  # no point for None
    assert [p.find("s:title", NS).text for p in points][:2] == ["移送 2026-09: 1", "移送 2026-10: 4"]
    # Heights are proportional: the axis runs 0..4 here, so 4 is at the top, 0 at the bottom,
    # and 2 half-way between.
    ys = {float(p.get("data-value") or 0): float(p.get("cy") or 0) for p in points}
    top, bottom = ys[4], ys[0]
    assert top < bottom and ys[2] == pytest.approx((top + bottom) / 2)
    assert ys[1] == pytest.approx(bottom - (bottom - top) / 4)
    # The second series breaks at its missing month: two separate points, no line through them.
    lines = root.findall(".//s:polyline", NS)
    assert len(lines) == 1  # only 移送 has two or more consecutive points
    assert len(lines[0].get("points", "").split()) == 3
    # Every month is labelled under the axis.
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert all(m in texts for m in MONTHS) and "移送" in texts and "立案" in texts


def test_rate_trend_runs_against_a_fixed_percent_axis() -> None:
    root = _parse(
        trend_chart(MONTHS, [Series("按时率", [0.5, 1.0, None])], title="按时率", chart_id="r", rate=True)
    )
    _, desc = _alternative(root)
    assert desc == "按时率：2026-09 50.0%，2026-10 100.0%，2026-11 —"
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "0%" in labels and "100%" in labels
    points = root.findall(".//s:circle", NS)
    cy = {float(p.get("data-value") or 0): float(p.get("cy") or 0) for p in points}
    grid = sorted(float(line.get("y1") or 0) for line in root.findall("s:line", NS))
    assert cy[1.0] == pytest.approx(grid[0]) and cy[0.5] == pytest.approx((grid[0] + grid[-1]) / 2)


def test_trend_chart_refuses_a_series_of_the_wrong_length_and_draws_nothing_for_no_data() -> None:
    with pytest.raises(ValueError, match="'移送': 2 values for 3 months"):
        trend_chart(MONTHS, [Series("移送", [1, 2])], title="t", chart_id="x")
    assert trend_chart([], [Series("移送", [])], title="t", chart_id="x") == ""
    assert count_bars([], title="t", chart_id="x") == ""


def test_count_bars_are_as_long_as_their_share_and_named_in_the_desc() -> None:
    root = _parse(
        count_bars(
            [("日照市市场监督管理局", 6), ("日照市生态环境局", 3), ("日照市交通运输局", 0)],
            title="各机关移送数",
            chart_id="bars",
        )
    )
    title, desc = _alternative(root)
    assert title == "各机关移送数"
    assert desc == "日照市市场监督管理局：6；日照市生态环境局：3；日照市交通运输局：0"
    widths = [float(r.get("width") or 0) for r in root.findall("s:rect", NS)]
    assert widths[0] == pytest.approx(2 * widths[1]) and widths[2] == 1.0  # zero keeps a hairline
    assert [r.find("s:title", NS).text for r in root.findall("s:rect", NS)][1] == "日照市生态环境局: 3"


def test_rate_bars_run_to_a_fixed_hundred_percent_and_skip_rows_without_a_denominator() -> None:
    root = _parse(
        rate_bars(
            [("甲局", 0.75), ("乙局", 1.0), ("丙局", None)],
            title="24小时内移送率",
            chart_id="rates",
        )
    )
    _, desc = _alternative(root)
    assert desc == "甲局：75.0%；乙局：100.0%；丙局：—"
    rects = root.findall("s:rect", NS)
    assert len(rects) == 2  # 丙局 has no rate to draw
    assert float(rects[0].get("width") or 0) == pytest.approx(0.75 * float(rects[1].get("width") or 0))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "75.0%" in texts and "100.0%" in texts
    assert rate_bars([("丙局", None)], title="t", chart_id="x") == ""


def test_escaping_keeps_the_svg_well_formed() -> None:
    root = _parse(count_bars([("A & B <局>", 2)], title='"引号" & <尖括号>', chart_id="esc"))
    title, desc = _alternative(root)
    assert title == '"引号" & <尖括号>' and desc == "A & B <局>：2"


def test_the_dashboards_bars_keep_their_plain_label() -> None:
    root = _parse(bar_chart([("案件", 3)], label="各流程案件数"))
    assert root.get("aria-label") == "各流程案件数" and root.get("class") == "chart"
    assert root.find("s:title", NS).text == "各流程案件数"


@pytest.mark.parametrize(
    ("biggest", "step"), [(0, 1), (4, 1), (7, 2), (12, 5), (48, 10), (100, 20), (0.3, 0.1)]
)
def test_grid_steps_are_round(biggest: float, step: float) -> None:
    assert nice_step(biggest) == pytest.approx(step)


def test_percent_reads_as_officials_write_it() -> None:
    assert percent(0.875) == "87.5%" and percent(1) == "100.0%" and percent(None) == "—"


def test_trend_axis_reads_short_months_with_the_year_where_it_changes() -> None:
    months = ["2025年12月", "2026年1月", "2026年2月"]
    root = _parse(
        trend_chart(
            months,
            [Series("移送", [1, 2, 3])],
            title="t",
            chart_id="axis",
            axis=[("12月", "2025"), ("1月", "2026"), ("2月", "")],
        )
    )
    under = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "month"]
    years = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "year"]
    assert under == ["12月", "1月", "2月"] and years == ["2025", "2026"]
    _, desc = _alternative(root)
    assert desc == "移送：2025年12月 1，2026年1月 2，2026年2月 3"  # the text alternative keeps full names
    with pytest.raises(ValueError, match="axis: 1 labels for 3 months"):
        trend_chart(months, [Series("移送", [1, 2, 3])], title="t", chart_id="x", axis=[("1月", "")])
