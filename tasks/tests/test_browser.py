"""The admin and Swagger UI in a real browser: headless Chromium driven by Selenium.

Uses Debian's `chromium` and `chromium-driver`; skipped without them, except under CI,
where their absence is a failure.
"""

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tasks.models import Task

from .live import in_ci

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
PASSWORD = "correct horse battery staple"


def require_chromium():
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if in_ci():
        pytest.fail("chromium and chromium-driver are required for the browser tests in CI")
    pytest.skip("chromium and chromium-driver are not installed")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    # Every network request the page makes, to prove none leaves the live server.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait_for(driver, css, count=1):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 15).until(
        lambda d: (found := d.find_elements(By.CSS_SELECTOR, css)) and len(found) >= count and found
    )


def listed_titles(driver):
    wait_for(driver, "#result_list")
    return sorted(cell.text for cell in driver.find_elements("css selector", "#result_list .field-title"))


def search_for(driver, text):
    driver.find_element("css selector", "#searchbar").send_keys(f"{text}\n")
    wait_for(driver, f"#searchbar[value='{text}']")


def requested_urls(driver):
    """URLs of every request the browser has made since the last call."""
    events = (json.loads(entry["message"])["message"] for entry in driver.get_log("performance"))
    return {event["params"]["request"]["url"] for event in events if event["method"] == "Network.requestWillBeSent"}


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)


def sign_in(driver, live_server, user):
    driver.get(f"{live_server.url}/admin/login/?next=/admin/tasks/task/")
    wait_for(driver, "#id_username")[0].send_keys(user.username)
    driver.find_element("css selector", "#id_password").send_keys(PASSWORD)
    driver.find_element("css selector", "#login-form [type=submit]").click()
    wait_for(driver, "#result_list")


def test_staff_search_filter_and_mark_tasks_completed(browser, live_server, transactional_db, staff):
    for user_id, title, completed in [
        ("user-a", "Buy milk", False),
        ("user-a", "Buy bread", False),
        ("user-b", "Call mum", True),
        ("user-b", "Fix bike", False),
    ]:
        Task.objects.create(user_id=user_id, title=title, completed=completed)
    sign_in(browser, live_server, staff)
    assert listed_titles(browser) == ["Buy bread", "Buy milk", "Call mum", "Fix bike"]

    search_for(browser, "buy")
    assert listed_titles(browser) == ["Buy bread", "Buy milk"]

    browser.get(f"{live_server.url}/admin/tasks/task/")
    browser.find_element("css selector", '#changelist-filter a[href*="completed__exact=1"]').click()
    wait_for(browser, "#changelist-filter li.selected a[href*='completed__exact=1']")
    assert listed_titles(browser) == ["Call mum"]

    browser.get(f"{live_server.url}/admin/tasks/task/")
    search_for(browser, "user-a")
    assert listed_titles(browser) == ["Buy bread", "Buy milk"]

    browser.find_element("css selector", "#action-toggle").click()
    browser.find_element("css selector", "select[name=action] option[value=mark_completed]").click()
    browser.find_element("css selector", "button[name=index]").click()
    [message] = wait_for(browser, ".messagelist .success")
    assert message.text == "2 tasks marked completed."
    completed_icons = browser.find_elements("css selector", "#result_list .field-completed img[alt=True]")
    assert len(completed_icons) == 2
    assert set(Task.objects.filter(completed=True).values_list("title", flat=True)) == {
        "Buy milk",
        "Buy bread",
        "Call mum",
    }


def test_swagger_ui_renders_with_no_request_leaving_the_server(browser, live_server, transactional_db):
    requested_urls(browser)
    browser.get(f"{live_server.url}/api/docs/")
    operations = wait_for(browser, ".swagger-ui .opblock", count=7)
    assert any("/api/tasks/{id}/complete/" in operation.text for operation in operations)

    server = urlsplit(live_server.url).netloc
    urls = requested_urls(browser)
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(entry => entry.name)")
    assert any("/static/drf_spectacular_sidecar/" in url for url in resources)
    assert any(urlsplit(url).path.rstrip("/") == "/api/schema" for url in urls)
    assert {urlsplit(url).netloc for url in urls | set(resources) if not url.startswith("data:")} == {server}
