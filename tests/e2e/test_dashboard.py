"""The leadership dashboard in a real headless Chromium (Debian's package), driven by Playwright.

Given a leadership reader with the dashboard open, when a duty officer declares a crisis through the API,
then the page shows it within a second, without a reload; when a read model stops on an event it fails on, the
page says how far behind the picture is, in red, until it recovers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from application.projections.paging import DEFAULT_LIMIT
from domain.crisis import Crisis
from domain.shared import utc_now
from tests.application.support import DO1
from tests.conftest import settings_for
from tests.live import LiveServer, running_service, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def server(tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    # The picture is sent again every second, not every 10 s: a stopped read model shows without waiting long.
    with running_service(settings_for("sqlite", tmp_path, stream_refresh_seconds=1.0)) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def open_dashboard(browser: Browser, server: LiveServer, token: str) -> Page:
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, timezone_id="Europe/Helsinki")
    page.goto(f"{server.base_url}/dashboard#token={token}")
    page.wait_for_selector("#state.live", timeout=10_000)
    return page


def declare(server: LiveServer, token: str, crisis_id: str, title: str, classification: dict | None = None) -> None:
    body = {"crisis_id": crisis_id, "title": title, "category": "SEVERE_WEATHER", "severity": 3,
            "areas": ["Vuosaari"], "classification": classification or {"level": "PUBLIC"}}
    answer = httpx.post(f"{server.base_url}/crises", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text


def test_a_crisis_declared_through_the_api_appears_within_a_second_without_reload(browser, server):
    reader = server.token("LR-1", "leadership")
    officer = server.token("DO-1", "duty_officer")
    page = open_dashboard(browser, server, reader)
    page.evaluate("window.__loaded = performance.timeOrigin")
    assert page.locator("[data-crisis]").count() == 0

    started = time.monotonic()
    declare(server, officer, "C-E2E", "Storm: power outages in eastern Helsinki")
    page.wait_for_selector('[data-crisis="C-E2E"]', timeout=1_000)
    shown_after = time.monotonic() - started

    row = page.locator('[data-crisis="C-E2E"]')
    assert "Storm: power outages in eastern Helsinki" in row.inner_text()
    assert page.evaluate("window.__loaded") == page.evaluate("performance.timeOrigin"), "the page was reloaded"
    assert shown_after < 1.0
    page.screenshot(path=str(server.settings.database_url.removeprefix("sqlite:///")) + ".png", full_page=True)


def test_an_uncleared_reader_sees_that_a_secret_crisis_exists_but_not_its_title(browser, server):
    reader = server.token("LR-1", "leadership")
    officer = server.token("DO-1", "duty_officer")
    page = open_dashboard(browser, server, reader)
    declare(server, officer, "C-SECRET", "Emailed bomb threats against six schools",
            {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"})
    row = page.wait_for_selector('[data-crisis="C-SECRET"]', timeout=2_000)
    assert "[SECRET JulkL 24.1 § 7 k]" in row.inner_text()
    assert "bomb" not in row.inner_text()


def test_a_page_applying_the_streams_patches_shows_what_a_page_opened_now_shows(browser, server):
    reader = server.token("LR-1", "leadership")
    officer = server.token("DO-1", "duty_officer")
    page = open_dashboard(browser, server, reader)
    for n in range(3):
        declare(server, officer, f"C-P{n}", f"Storm damage, district {n}")
    answer = httpx.post(f"{server.base_url}/crises/C-P1/severity", json={"to_severity": 1},
                        headers={"Authorization": f"Bearer {officer}"})
    assert answer.status_code < 300, answer.text
    page.wait_for_selector('[data-crisis="C-P1"] .sev-1', timeout=2_000)
    opened = open_dashboard(browser, server, reader)
    opened.wait_for_selector('[data-crisis="C-P1"] .sev-1', timeout=2_000)
    for section in ["#figures", "#crises", "#readiness"]:
        assert page.inner_html(section) == opened.inner_html(section), section


def test_overdue_actions_stand_out(browser, server):
    reader = server.token("LR-1", "leadership")
    officer = server.token("DO-1", "duty_officer")
    declare(server, officer, "C-LATE", "Water-main break")
    # An action due two seconds from now: it turns overdue with time alone, no event needed.
    due = utc_now() + timedelta(seconds=2)
    body = {"action_id": "A-1", "unit": "STARA", "task": "Barriers at excavation", "due_at": due.isoformat()}
    answer = httpx.post(f"{server.base_url}/crises/C-LATE/actions", json=body,
                        headers={"Authorization": f"Bearer {officer}"})
    assert answer.status_code == 200, answer.text
    page = open_dashboard(browser, server, reader)
    # The action turns overdue with time alone: the dashboard is refreshed when a reader connects.
    wait_until(lambda: utc_now() > due, 5, "the action's due time to pass")
    page.reload()
    page.wait_for_selector("#state.live")
    overdue = page.locator("#overdue td.overdue")
    assert overdue.count() == 1
    # (looked up and read in one step: the next frame, every second here, replaces the cell)
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('#overdue td.overdue')).color === 'rgb(255, 93, 93)'",
        timeout=2_000,
    )


def test_a_read_model_stopped_by_an_event_it_fails_on_turns_the_picture_red_until_it_recovers(browser, server):
    """Given leadership's dashboard live, when the overview's read model fails on a crisis declaration (a bug in
    its handler, put into the server's own follower) and one more crisis is declared, then the dashboard says in
    red that the picture is as of an earlier moment and behind by 2 events, the read model stopped at the
    failing event; when the handler is fixed, the follower's next try applies both and the dashboard is live
    again, showing both crises."""
    reader = server.token("LR-1", "leadership")
    officer = server.token("DO-1", "duty_officer")
    declare(server, officer, "C-BEFORE", "Storm: trees down in Kontula")
    page = open_dashboard(browser, server, reader)
    page.wait_for_selector('[data-crisis="C-BEFORE"]')
    model = server.services.projections.models["situation_overview"]
    handler = model.handlers[Crisis.Declared]

    def buggy(tx, event, position):  # noqa: ANN001, ANN202
        if event.crisis_id == "C-POISON":
            raise ValueError("a bug in the overview's handler of declarations")
        handler(tx, event, position)

    model.handlers[Crisis.Declared] = buggy
    declare(server, officer, "C-POISON", "Water main burst in Kallio")
    declare(server, officer, "C-NEXT", "Power outage in Vuosaari")

    state = page.wait_for_selector("#state.stale", timeout=20_000)  # (behind by 1 until C-NEXT is known)
    page.wait_for_function(
        "() => document.querySelector('#state.stale')?.innerText.includes('behind by 2 events')", timeout=20_000
    )
    assert "picture as of" in state.inner_text() and "stopped at event" in state.inner_text()
    assert state.evaluate("e => getComputedStyle(e).color") == "rgb(255, 93, 93)"
    assert page.locator('[data-crisis="C-NEXT"]').count() == 0
    page.screenshot(path=str(server.settings.database_url.removeprefix("sqlite:///")) + ".stale.png")
    ready = httpx.get(f"{server.base_url}/health/ready", headers={"Authorization": f"Bearer {reader}"})
    assert ready.status_code == 503 and "situation_overview" in ready.json()["detail"]

    model.handlers[Crisis.Declared] = handler  # the fix
    page.wait_for_selector("#state.live", timeout=30_000)
    assert page.locator('[data-crisis="C-POISON"]').count() == 1
    assert page.locator('[data-crisis="C-NEXT"]').count() == 1
    assert httpx.get(f"{server.base_url}/health/ready").status_code == 200


def test_the_figures_count_every_crisis_when_the_picture_shows_the_first_ones(browser, server):
    # Given more active crises than a picture's list holds (the stream sends the first DEFAULT_LIMIT of them)
    app = server.services.coordination
    for n in range(DEFAULT_LIMIT + 1):
        app.declare_crisis(DO1, crisis_id=f"C-{n:03}", title="Storm", category="SEVERE_WEATHER", severity=2,
                           areas=["Vuosaari"])
    # When leadership opens the dashboard
    page = open_dashboard(browser, server, server.token("LR-1", "leadership"))
    # Then the table shows the first DEFAULT_LIMIT and the figure counts them all
    wait_until(lambda: page.locator("#crises tr[data-crisis]").count() == DEFAULT_LIMIT, 10, "the crises shown")
    assert page.locator('[data-figure="Active crises"]').inner_text() == str(DEFAULT_LIMIT + 1)


def test_reports_due_by_the_rhythm_and_overdue_improvement_items_stand_out(browser, server):
    reader = server.token("LR-1", "leadership")
    officer, manager = server.token("DO-1", "duty_officer"), server.token("PM-1", "preparedness_manager")

    def post(path: str, body: dict, token: str = officer) -> None:
        answer = httpx.post(f"{server.base_url}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code < 300, answer.text

    # Given a severity 3 crisis declared five hours ago (logged late): by the 4-hour rhythm its first report is overdue
    post("/crises", {"crisis_id": "C-RHYTHM", "title": "Water-main break", "category": "UTILITY_WATER",
                     "severity": 3, "occurred_at": (utc_now() - timedelta(hours=5)).isoformat(),
                     "late_entry_reason": "logged after the night"})
    # and a closed crisis whose final review has an improvement item for STARA falling due in two seconds
    declare(server, officer, "C-DONE", "Storm")
    for step in ("contain", "resolve", "close"):
        post(f"/crises/C-DONE/{step}", {"reason": step})
    review = "/crises/C-DONE/after-action-review"
    post(f"{review}/draft", {"findings": ["barriers came late"]}, manager)
    due = utc_now() + timedelta(seconds=2)
    post(f"{review}/items", {"item_id": "I-1", "unit": "STARA", "task": "Barrier stock", "due_at": due.isoformat()},
         manager)
    post(f"{review}/final", {}, manager)
    wait_until(lambda: utc_now() > due, 5, "the item's due time to pass")

    # When leadership opens the dashboard
    page = open_dashboard(browser, server, reader)
    # Then the crisis's report is shown overdue by the rhythm, counted among the reports overdue
    page.wait_for_selector('[data-crisis="C-RHYTHM"] [data-rhythm="overdue"].overdue', timeout=5_000)
    assert page.locator('[data-figure="Reports overdue"]').inner_text() == "1"
    # and STARA's overdue improvement item stands out in its own section
    page.wait_for_selector('#improvements tr[data-unit="STARA"] td.overdue', timeout=5_000)
    assert page.locator('#improvements tr[data-unit="STARA"] td.overdue').inner_text() == "1"
