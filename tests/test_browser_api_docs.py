"""The API's docs page (/api/v1/docs/) in a real browser: Swagger UI from the project's own
static files draws every operation of the schema, with no Content-Security-Policy violation
and no request to another server."""

from urllib.parse import urlsplit

import pytest

from tests.test_browser_csp import LISTEN

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_draws_the_operations_under_the_policy(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(LISTEN)
    page = context.new_page()
    page.set_default_timeout(20_000)
    hosts, console = set(), []
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.on("console", lambda message: console.append(message.text))
    answer = page.goto(f"{live_server.url}/api/v1/docs/")
    assert answer.status == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=20_000)
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/visits/" in summaries and "/api/v1/participants/" in summaries
    assert len(summaries) >= 17
    assert page.evaluate("window.__violations") == []
    assert not [line for line in console if "Content Security Policy" in line]
    assert hosts == {urlsplit(live_server.url).netloc}
    context.close()
