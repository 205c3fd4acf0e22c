"""Signing in to the dashboard with the city's identity provider, in a real Chromium: the authorization code
flow with PKCE against a real OpenID provider (tests/oidc), its login page filled in as a person would.

Given a service that accepts the provider's tokens, when a leadership reader clicks "Sign in with your city
account" and signs in at the provider, then the dashboard comes back live with the overview, the access token
kept in memory only; a pasted CLI token still works beside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.conftest import settings_for
from tests.e2e.test_dashboard import browser, declare, open_dashboard  # noqa: F401 - the module's browser
from tests.live import LiveServer, free_port, running_service
from tests.oidc import Provider, running_provider


@pytest.fixture
def city(tmp_path) -> Iterator[tuple[LiveServer, Provider]]:  # noqa: ANN001
    """The service and the provider, each knowing the other: the provider's port is chosen first."""
    port = free_port()
    settings = settings_for("sqlite", tmp_path, **Provider(port, tmp_path, []).settings())
    with running_service(settings) as server:
        with running_provider(tmp_path, redirect_uris=[f"{server.base_url}/dashboard"], port=port) as provider:
            yield server, provider


def sign_in_at_the_provider(page: Page, login: str) -> None:
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")


def test_a_leadership_reader_signs_in_with_the_city_account_and_sees_the_overview(browser, city):  # noqa: F811
    server, provider = city
    declare(server, server.token("DO-1", "duty_officer"), "C-SSO", "Water main burst in Kallio")
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, timezone_id="Europe/Helsinki")
    try:
        # Given the dashboard, not signed in
        page.goto(f"{server.base_url}/dashboard")
        page.wait_for_selector("#sign-in", state="visible")
        # When lindqvist (group valmius-leadership) signs in with the city account
        page.click("#sign-in")
        page.wait_for_url(f"{provider.issuer}/**")
        sign_in_at_the_provider(page, "lindqvist")
        # Then the dashboard is back, live, showing the crisis, with no code or token left in the address or storage
        page.wait_for_selector("#state.live", timeout=15_000)
        assert "Water main burst in Kallio" in page.locator('[data-crisis="C-SSO"]').inner_text()
        assert page.url == f"{server.base_url}/dashboard"
        assert page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)") == "{}{}"
    finally:
        page.close()


def test_a_pasted_cli_token_still_opens_the_dashboard_where_the_city_sign_in_is_offered(browser, city):  # noqa: F811
    server, _ = city
    page = open_dashboard(browser, server, server.token("LR-1", "leadership"))
    page.close()
