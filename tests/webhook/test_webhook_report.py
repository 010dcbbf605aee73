"""Report pages: HTML with server-side SVG charts, rendered offline by a real headless Chromium."""

from collections.abc import Callable
from pathlib import Path

from browser_support import screenshot
from conftest import Backfilled
from webhook_support import BASELINE, CANARY, HASH_ORDER, HASH_ORDER_AGENT, client

from webhook.app.api.routes.reports import INDEX_LOOKBACK_SECONDS
from webhook.backends import PrometheusBackend, Series
from webhook.report import hashes_seen, render_index


def report_path(backfilled: Backfilled, agent: str) -> str:
    return f"/reports?agent={agent}&canary={CANARY}&baseline={BASELINE}&end={backfilled.end}"


def test_report_needs_no_token_and_shows_the_judgement(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        api.headers.pop("Authorization")
        page = api.get(report_path(backfilled, "bimodal-collapse"))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.count("<svg") == 6
    assert html.count("<polyline") >= 8  # four trends, canary and baseline each drawn
    assert "Confidence distribution" in html and "Error rate over time" in html
    assert 'class="verdict fail"' in html
    assert "share of requests with confidence" in html
    # Nothing to fetch: the page renders offline.
    assert "<script" not in html and "<link" not in html and "src=" not in html


def test_report_url_from_a_judgement_opens_the_same_verdict(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        judgement = api.post(
            "/api/v1/judgements",
            json={"agent": "latency-tail", "canary": CANARY, "baseline": BASELINE, "end": backfilled.end},
        ).json()
        page = api.get(judgement["report_url"].removeprefix("http://testserver"))
    assert page.status_code == 200
    assert f'class="verdict {judgement["verdict"]}"' in page.text


def test_report_bad_input_is_422(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        response = api.get(f"/reports?agent=no-change&canary=bad!&baseline={BASELINE}")
        one_hash = api.get(f"/reports?agent=no-change&canary={CANARY}")
    assert response.status_code == 422 and response.json()["field"] == "canary"
    assert one_hash.status_code == 422 and one_hash.json()["field"] == "baseline"


def test_index_lists_the_agents_hashes(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        page = api.get("/reports?agent=no-change")
    assert page.status_code == 200
    assert CANARY in page.text and BASELINE in page.text
    # Both start in the same second: tied, they are ordered by name, so the link is always the same one.
    assert f"canary={CANARY}&amp;baseline={BASELINE}" in page.text


class ReversedAnswers(PrometheusBackend):
    """Real Prometheus answers with their series in the opposite order (PromQL promises no order)."""

    def query(self, promql: str, at: float, *, deadline: float | None = None) -> list[Series]:
        return super().query(promql, at, deadline=deadline)[::-1]


def test_index_order_does_not_depend_on_the_answer_order(backfilled: Backfilled) -> None:
    at = backfilled.end + 60
    for agent in ("no-change", HASH_ORDER_AGENT):
        as_answered = hashes_seen(PrometheusBackend(backfilled.url), agent, None, at, INDEX_LOOKBACK_SECONDS)
        reversed_ = hashes_seen(ReversedAnswers(backfilled.url), agent, None, at, INDEX_LOOKBACK_SECONDS)
        assert len(as_answered) >= 2 and as_answered == reversed_


def test_index_orders_by_first_sample_and_links_within_a_namespace(backfilled: Backfilled) -> None:
    rows = hashes_seen(
        PrometheusBackend(backfilled.url), HASH_ORDER_AGENT, None, backfilled.end + 60, INDEX_LOOKBACK_SECONDS
    )
    assert [row["hash"] for row in rows] == [arm.pod_hash for arm, _, _ in HASH_ORDER]  # by age, not name
    (oldest, _, _), (other_namespace, _, _), (newest, _, _) = HASH_ORDER
    page = render_index(HASH_ORDER_AGENT, rows)
    # The newest dev hash links to the previous dev hash, skipping the prod hash that started in between.
    assert f"canary={newest.pod_hash}&amp;baseline={oldest.pod_hash}" in page
    assert (
        f"baseline={other_namespace.pod_hash}" not in page
        and f"canary={other_namespace.pod_hash}" not in page
    )


def test_report_screenshot_has_charts(
    backfilled: Backfilled, tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    """Chromium renders the saved page offline; the chart area must not be blank."""
    require_tool("chromium")
    with client(backfilled.url) as api:
        html = api.get(report_path(backfilled, "latency-tail")).text
    page = tmp_path / "report.html"
    page.write_text(html)
    image = screenshot(page, tmp_path)
    width, height = image.size
    charts = image.crop((0, height // 3, width, height))  # below the header and table
    pixels = [charts.getpixel((x, y)) for y in range(0, charts.height, 2) for x in range(0, charts.width, 2)]
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)  # the orange and blue series
    non_white = sum(1 for r, g, b in pixels if min(r, g, b) < 230)
    assert non_white > 0.02 * len(pixels), "the charts area is blank"
    assert coloured > 2000, "no canary/baseline colours in the charts"
