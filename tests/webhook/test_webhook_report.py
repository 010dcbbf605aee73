"""Report pages: HTML with server-side SVG charts, rendered offline by a real headless Chromium."""

from collections.abc import Callable
from pathlib import Path

from browser_support import screenshot
from conftest import Backfilled
from webhook_support import BASELINE, CANARY, client


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
    # The newer hash (the canary) links to a report against the older one.
    assert f"canary={CANARY}&amp;baseline={BASELINE}" in page.text


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
