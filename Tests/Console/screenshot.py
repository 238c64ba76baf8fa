"""make screenshot: the console with sample data, saved as docs/console.png."""
import os
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from console_support import ROOT, Server, chromium

server = Server()
server.start()
try:
    for version in [{"celsius": 20.5, "room": "lab"}, {"celsius": 21.0, "room": "lab"}, {"celsius": 21.5, "room": "lab"}]:
        server.insert("temperature", version)
    server.insert("user/login", {"user": "ada", "ok": True})
    server.insert_raw("cart", '{"items": ["apple", "pear"], "total": 12.40}')
    server.insert("door/front", "open")
    browser = chromium(width=1280, height=760)
    try:
        browser.get(server.base + "/")
        WebDriverWait(browser, 15).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#latest tbody tr")) == 4)
        browser.find_element(By.CSS_SELECTOR, '#latest tbody tr[data-event="temperature"]').click()
        WebDriverWait(browser, 15).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history-list li")) == 3)
        server.insert("door/front", "closed")
        time.sleep(0.3)
        path = os.path.join(ROOT, "docs", "console.png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        browser.save_screenshot(path)
        print(f"saved {path}")
    finally:
        browser.quit()
finally:
    server.remove()
