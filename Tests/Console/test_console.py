"""The web console in a real browser: live table, filter, history, insert form,
resume after a disconnect, keyboard and phone width."""
import json
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from console_support import Server, chromium

WAIT = 15  # seconds; every wait below is bounded by it


@pytest.fixture()
def server():
    server = Server()
    server.start()
    yield server
    server.remove()


@pytest.fixture()
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def row_data(browser, event):
    rows = browser.find_elements(By.CSS_SELECTOR, f'#latest tbody tr[data-event="{event}"]')
    return rows[0].find_element(By.CSS_SELECTOR, "td.data").text if rows else None


def wait_for(browser, condition, message):
    return WebDriverWait(browser, WAIT).until(lambda driver: condition(), message)


def test_table_shows_latest_values_and_updates_live(server, browser):
    server.insert("temperature", {"c": 1})
    server.insert("door", "open")
    server.insert_raw("temperature", '{"c": 1.50, "big": 12345678901234567890.0}')
    browser.get(server.base + "/")
    # Shown exactly as stored: the digits of every number unchanged.
    wait_for(browser, lambda: row_data(browser, "temperature") == '{"c":1.50,"big":12345678901234567890.0}', "snapshot not shown")
    assert row_data(browser, "door") == '"open"'
    wait_for(browser, lambda: browser.find_element(By.ID, "state").text == "live", "not live")
    server.insert("temperature", {"c": 2, "unit": "C"})
    wait_for(browser, lambda: row_data(browser, "temperature") == '{"c":2,"unit":"C"}', "live update not shown")
    row = browser.find_element(By.CSS_SELECTOR, '#latest tbody tr[data-event="temperature"]')
    assert "changed" in row.get_attribute("class")
    assert browser.find_element(By.ID, "last-seq").text == "4"
    # Names are text, never HTML.
    server.insert("<b>bold</b>", "<script>alert(1)</script>")
    wait_for(browser, lambda: row_data(browser, "<b>bold</b>") == '"<script>alert(1)</script>"', "markup not escaped")
    assert not browser.find_elements(By.CSS_SELECTOR, "#latest b")


def test_filter_by_name(server, browser):
    for name in ["sensor/1", "sensor/2", "user.login"]:
        server.insert(name, 1)
    browser.get(server.base + "/")
    wait_for(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#latest tbody tr")) == 3, "rows")
    browser.find_element(By.ID, "filter").send_keys("sensor")
    wait_for(browser, lambda: [r.get_attribute("data-event") for r in browser.find_elements(By.CSS_SELECTOR, "#latest tbody tr") if r.is_displayed()] == ["sensor/1", "sensor/2"], "filter")


def test_history_lists_every_version_newest_first_with_changes(server, browser):
    for version in [{"c": 1}, {"c": 2}, {"c": 2, "note": "x"}]:
        server.insert("sensor/1", version)
    server.insert("other", True)
    browser.get(server.base + "/")
    wait_for(browser, lambda: row_data(browser, "sensor/1") is not None, "row")
    # Keyboard: focus the row and press Enter.
    row = browser.find_element(By.CSS_SELECTOR, '#latest tbody tr[data-event="sensor/1"]')
    row.send_keys(Keys.ENTER)
    wait_for(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#history-list li")) == 3, "history")
    items = browser.find_elements(By.CSS_SELECTOR, "#history-list li")
    assert [item.get_attribute("data-seq") for item in items] == ["3", "2", "1"]
    assert [item.find_element(By.TAG_NAME, "pre").text for item in items] == ['{"c":2,"note":"x"}', '{"c":2}', '{"c":1}']
    changes = [item.find_element(By.CSS_SELECTOR, ".change").text for item in items]
    assert changes == ['added note: "x"', "c: 1 → 2", "first version"]
    # A new version appears in the open history too.
    server.insert("sensor/1", {"c": 3})
    wait_for(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#history-list li")) == 4, "history update")
    # Changes are told from the exact text: 3 → 3.0 is a change, shown with its digits.
    server.insert_raw("sensor/1", '{"c": 3.0}')
    wait_for(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#history-list li")) == 5, "the 3.0 version")
    newest = browser.find_elements(By.CSS_SELECTOR, "#history-list li")[0]
    assert newest.find_element(By.CSS_SELECTOR, ".change").text == "c: 3 → 3.0"
    assert newest.find_element(By.TAG_NAME, "pre").text == '{"c":3.0}'


def test_form_validates_then_inserts(server, browser):
    browser.get(server.base + "/")
    wait_for(browser, lambda: browser.find_element(By.ID, "state").text == "live", "not live")
    name = browser.find_element(By.ID, "insert-event")
    data = browser.find_element(By.ID, "insert-data")
    name.send_keys("form/test")
    data.clear()
    data.send_keys('{"x": 1,}')
    browser.find_element(By.ID, "insert-submit").click()
    wait_for(browser, lambda: "not valid JSON" in browser.find_element(By.ID, "insert-error").text, "validation")
    assert server.get("/healthz")["lastSeq"] == 0
    data.clear()
    data.send_keys('{"x": 1, "list": [1, 2]}')
    browser.find_element(By.ID, "insert-submit").click()
    wait_for(browser, lambda: browser.find_element(By.ID, "insert-result").text == "stored as seq 1", "insert result")
    wait_for(browser, lambda: row_data(browser, "form/test") == '{"x":1,"list":[1,2]}', "row from form")
    assert server.get("/audit/form%2Ftest")[0]["data"] == {"x": 1, "list": [1, 2]}
    # Sent as typed: the digits of a number stay as written.
    data.clear()
    data.send_keys('{"price": 12.40}')
    browser.find_element(By.ID, "insert-submit").click()
    wait_for(browser, lambda: row_data(browser, "form/test") == '{"price":12.40}', "the exact digits")


def test_resumes_after_a_disconnect_without_losing_records(server, browser):
    server.insert("a", 1)
    browser.get(server.base + "/")
    wait_for(browser, lambda: row_data(browser, "a") == "1", "first value")
    server.stop()
    wait_for(browser, lambda: browser.find_element(By.ID, "state").text in ("reconnecting", "closed"), "disconnect seen")
    server.start()
    server.insert("a", 2)
    server.insert("b", 3)
    wait_for(browser, lambda: row_data(browser, "a") == "2" and row_data(browser, "b") == "3", "records after reconnect")
    assert browser.find_element(By.ID, "state").text == "live"


def test_fits_a_phone_width(server):
    server.insert("a-rather-long-event-name/with/parts", {"text": "x" * 300})
    browser = chromium(width=390, height=844)
    try:
        browser.get(server.base + "/")
        wait_for(browser, lambda: row_data(browser, "a-rather-long-event-name/with/parts") is not None, "row")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        assert browser.find_element(By.ID, "insert-form").is_displayed()
    finally:
        browser.quit()


def test_no_console_flag_turns_it_off():
    import subprocess
    import urllib.error
    import urllib.request
    from console_support import broker_binary, free_port
    import tempfile
    port = free_port()
    directory = tempfile.mkdtemp(prefix="broker-noconsole-")
    process = subprocess.Popen([broker_binary(), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", directory, "--no-console"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                status = 200
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                time.sleep(0.05)
        assert status == 404
    finally:
        process.terminate()
        process.wait(timeout=10)
