"""Examples/live-form in two browser windows (README: For front-end developers):
a change in one shows in the other, a change made on a stale value is refused and
the other person's value shown, and a reopened page is restored from the snapshot."""
import os

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from console_support import ROOT, Server, chromium

WAIT = 15  # seconds; every wait below is bounded by it


def wait_for(browser, condition, message):
    return WebDriverWait(browser, WAIT).until(lambda driver: condition(), message)


def open_form(browser, server):
    browser.get(server.base + "/static/index.html")
    wait_for(browser, lambda: browser.find_element(By.ID, "status").text == "live", "the form never went live")


def value(browser, field):
    return browser.execute_script("return document.getElementById(arguments[0]).value", field)


def stored(server, name):
    """The data of `name`'s latest record, or None before it has one."""
    records = server.get("/state?event=" + name)
    return records[0]["data"] if records else None


def change(browser, field, text):
    """What a person does: types a value and leaves the field."""
    browser.execute_script(
        "const input = document.getElementById(arguments[0]); input.value = arguments[1]; input.dispatchEvent(new Event('change'));",
        field, text)


def test_two_windows_edit_one_form():
    server = Server(arguments=["--static", os.path.join(ROOT, "Examples", "live-form")])
    server.start()
    first, second = chromium(), chromium()
    try:
        open_form(first, server)
        open_form(second, server)
        change(first, "title", "Quarterly plan")
        wait_for(second, lambda: value(second, "title") == "Quarterly plan", "the other window did not get the change")
        change(second, "owner", "ana")
        wait_for(first, lambda: value(first, "owner") == "ana", "the first window did not get the owner")

        # The second window stops hearing changes: its next edit is made on a stale value.
        second.execute_script("window.live.close()")
        change(first, "title", "Yearly plan")
        wait_for(first, lambda: stored(server, "form/title") == "Yearly plan", "the change was not stored")
        change(second, "title", "Monthly plan")
        wait_for(second, lambda: "changed elsewhere first" in second.find_element(By.ID, "title-note").text, "no conflict shown")
        assert value(second, "title") == "Yearly plan"  # the other person's value
        assert [r["data"] for r in server.get("/audit/form/title")] == ["Quarterly plan", "Yearly plan"]

        # Reopened, the page is restored from the snapshot.
        open_form(second, server)
        wait_for(second, lambda: (value(second, "title"), value(second, "owner")) == ("Yearly plan", "ana"), "not restored")
    finally:
        first.quit()
        second.quit()
        server.remove()


def test_the_page_works_opened_from_the_file_system():
    """The same page as a file, pointed at a server with ?server= (CORS allows it)."""
    server = Server()
    server.start()
    server.insert("form/title", "from the server")
    browser = chromium()
    try:
        page = "file://" + os.path.join(ROOT, "Examples", "live-form", "index.html")
        browser.get(f"{page}?server=http://127.0.0.1:{server.port}")
        wait_for(browser, lambda: value(browser, "title") == "from the server", "the file page did not get the snapshot")
        change(browser, "owner", "li")
        wait_for(browser, lambda: stored(server, "form/owner") == "li", "the file page's insert was not stored")
    finally:
        browser.quit()
        server.remove()
