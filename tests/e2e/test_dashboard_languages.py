"""The dashboard in Finnish, Swedish and English, in a real headless Chromium (Debian's package).

Given a leadership reader whose browser speaks Finnish, the dashboard opens in Finnish (its labels, and the
names of a crisis's category and status); the switch turns it Swedish, which it stays after a reload; a
Swedish browser gets Swedish, and any other language English. The texts are the catalogs' (nothing here is a
translation of its own but the few words a reader would look for).
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from interfaces.http.i18n import CATALOGS
from tests.e2e.test_dashboard import browser, declare, server  # noqa: F401 - the fixtures, shared
from tests.live import LiveServer

STORM = "Storm: power outages in eastern Helsinki"


def open_dashboard(browser: Browser, server: LiveServer, token: str, locale: str) -> Page:  # noqa: F811
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, timezone_id="Europe/Helsinki", locale=locale)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.base_url}/dashboard#token={token}")
    page.wait_for_selector("#state.live", timeout=10_000)
    assert not errors, errors
    return page


def shows(page: Page, language: str) -> None:
    """The page is in `language`: its headings, figures, table heads, state and the crisis's names."""
    say = (lambda message: CATALOGS[language].get(message, message))
    assert page.evaluate("document.documentElement.lang") == language
    assert page.locator("main h2").nth(2).inner_text().strip().casefold() == say("Active crises").casefold()
    figure = page.locator('[data-figure="Open actions"]').locator("xpath=..").inner_text()  # (shown in capitals)
    assert figure.casefold().startswith(say("Open actions").casefold())
    assert say("Latest report") in page.locator("#crises thead").inner_text()
    assert page.locator("#state").inner_text().startswith(say("live · updated {at}").split("{")[0])
    row = page.locator('[data-crisis="C-L1"]')
    assert row.locator("[data-category]").inner_text() == say("Severe weather")
    assert row.locator("[data-status]").inner_text() == say("Active")
    assert STORM in row.inner_text()  # what a record says is never translated
    pressed = page.locator('#languages [aria-pressed="true"]')
    assert (pressed.count(), pressed.get_attribute("data-language")) == (1, language)


def test_a_finnish_browser_gets_finnish_and_the_switch_turns_it_swedish_for_good(browser, server):  # noqa: F811
    reader = server.token("LR-1", "leadership")
    declare(server, server.token("DO-1", "duty_officer"), "C-L1", STORM)
    page = open_dashboard(browser, server, reader, "fi-FI")
    page.wait_for_selector('[data-crisis="C-L1"]')
    shows(page, "fi")
    assert "Ankara sää" in page.locator('[data-crisis="C-L1"]').inner_text()

    # When the reader chooses svenska, the page is Swedish at once, without a reload
    page.evaluate("window.__loaded = performance.timeOrigin")
    page.click('#languages [data-language="sv"]')
    shows(page, "sv")
    assert "Svårt väder" in page.locator('[data-crisis="C-L1"]').inner_text()
    assert page.evaluate("window.__loaded") == page.evaluate("performance.timeOrigin"), "the page was reloaded"

    # And it stays Swedish after a reload (the choice is kept in this browser)
    page.reload()
    page.wait_for_selector("#state.live", timeout=10_000)
    page.wait_for_selector('[data-crisis="C-L1"]')
    shows(page, "sv")

    # English is one click away
    page.click('#languages [data-language="en"]')
    shows(page, "en")
    assert "Severe weather" in page.locator('[data-crisis="C-L1"]').inner_text()


def test_a_swedish_browser_gets_swedish_and_any_other_english(browser, server):  # noqa: F811
    reader = server.token("LR-1", "leadership")
    declare(server, server.token("DO-1", "duty_officer"), "C-L1", STORM)
    for locale, language in [("sv-FI", "sv"), ("de-DE", "en")]:
        page = open_dashboard(browser, server, reader, locale)
        page.wait_for_selector('[data-crisis="C-L1"]')
        shows(page, language)
        page.close()


def test_the_sign_in_form_is_in_the_browsers_language(browser, server):  # noqa: F811
    page = browser.new_page(locale="fi-FI")
    page.goto(f"{server.base_url}/dashboard")
    page.wait_for_selector("#login:not([hidden])")
    assert page.locator("#login h2").text_content() == CATALOGS["fi"]["Sign in"]  # (shown in capitals)
    assert page.get_attribute("#token", "placeholder") == CATALOGS["fi"]["Your Valmius token"]
    assert "valmius token issue" in page.locator("#login p.empty").inner_text()  # translated with its markup
    assert page.title() == CATALOGS["fi"]["Valmius · Situation overview"]
    page.click('#languages [data-language="sv"]')
    assert page.locator("#login h2").text_content() == CATALOGS["sv"]["Sign in"]
    assert page.get_attribute("#token", "placeholder") == CATALOGS["sv"]["Your Valmius token"]
