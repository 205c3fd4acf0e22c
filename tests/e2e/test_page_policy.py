"""The dashboard under its strict Content-Security-Policy, in a real Chromium: its script and style run by
the response's nonce, nothing the page does is refused by the policy, and the MTPD bars (once a style
attribute the policy forbids) still get their width."""

from __future__ import annotations

from datetime import timedelta

import httpx

from domain.shared import utc_now
from tests.e2e.test_dashboard import browser, open_dashboard, server  # noqa: F401 - fixtures
from tests.live import LiveServer


def test_the_dashboard_runs_under_its_policy_without_a_single_violation(browser, server: LiveServer) -> None:  # noqa: F811
    # Given a crisis with a continuity plan active for it
    officer, manager = server.token("DO-1", "duty_officer"), server.token("PM", "preparedness_manager")
    crisis = {"crisis_id": "C-CSP", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 3,
              "occurred_at": (utc_now() - timedelta(minutes=12)).isoformat()}
    answer = httpx.post(f"{server.base_url}/crises", json=crisis, headers={"Authorization": f"Bearer {officer}"})
    assert answer.status_code == 201, answer.text
    as_manager = {"Authorization": f"Bearer {manager}"}
    plan = {"plan_id": "CP-1", "title": "Home care in power outage", "owner": "Executive Director, SOTEPE",
            "critical_functions": [{"name": "powered medical devices", "mtpd_minutes": 360, "rto_minutes": 120}]}
    for path, body in (("plans", plan), ("plans/CP-1/approve", {"approved_by": "Executive Director, SOTEPE"}),
                       ("plans/CP-1/activate", {"crisis_id": "C-CSP",
                                                "occurred_at": (utc_now() - timedelta(minutes=10)).isoformat()})):
        answer = httpx.post(f"{server.base_url}/division-preparedness/SOTEPE/{path}", json=body, headers=as_manager)
        assert answer.status_code in (200, 201), answer.text

    # When leadership opens the dashboard, every refusal by the policy being reported on the console
    violations: list[str] = []
    page = open_dashboard(browser, server, server.token("LR-1", "leadership"))
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.reload()
    page.wait_for_selector("#state.live", timeout=10_000)

    # Then the page is live (its script ran), styled (its style element applied), and nothing was refused
    assert page.eval_on_selector("body", "b => getComputedStyle(b).margin") == "0px"
    bar = page.wait_for_selector("[data-share]", timeout=5_000)
    assert bar.evaluate("e => e.style.width") == f"{bar.get_attribute('data-share')}%"
    assert int(bar.get_attribute("data-share")) > 0
    assert violations == []
