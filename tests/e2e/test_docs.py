"""The API documentation works offline: in a real Chromium whose every request beyond the service is cut off,
/docs renders every operation of the OpenAPI document, from Swagger UI served by the service itself, under the
page's nonce policy, with nothing refused by it."""

from __future__ import annotations

from playwright.sync_api import Route

from tests.e2e.test_dashboard import browser, server  # noqa: F401 - fixtures
from tests.live import LiveServer


def test_the_documentation_renders_every_operation_with_only_the_service_reachable(browser, server: LiveServer) -> None:  # noqa: F811
    # Given a browser that reaches the service and nothing else (no CDN)
    elsewhere: list[str] = []

    def only_the_service(route: Route) -> None:
        if route.request.url.startswith(server.base_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page = browser.new_page()
    page.route("**/*", only_the_service)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)

    # When the documentation is opened
    page.goto(f"{server.base_url}/docs")

    # Then every operation of the document is rendered, and its answers can be unfolded
    operations = sum(len(methods) for methods in server.http.get("/openapi.json").json()["paths"].values())
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() == operations
    page.locator(".opblock-summary", has_text="/crises/{crisis_id}/log-entries").first.click()
    page.wait_for_selector(".responses-table", timeout=5_000)
    assert page.locator(".response-col_status", has_text="422").count() >= 1
    # from the service alone, refused nothing by the page's policy
    assert elsewhere == []
    assert refused == []
    page.close()
