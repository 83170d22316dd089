#!/usr/bin/env python3
"""Drives metergate's web console in a real browser (Debian's Chromium through its driver,
Selenium from PyPI). Started by Tests/MetergateTests/ConsoleBrowserTests.swift against a
daemon it runs; every step asserts what a person would see, and a screenshot of each page
goes to $SCREENSHOTS.

Environment: CONSOLE_URL, OPERATOR, PASSWORD, LOCKED_OPERATOR (an operator whose account the
test locks with five wrong passwords), PHONE_TYPED (a phone spelled otherwise than stored),
PHONE_STORED, HELD_ID (a held reading's id), SCREENSHOTS (a folder)."""
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ["CONSOLE_URL"].rstrip("/")
OPERATOR = os.environ["OPERATOR"]
PASSWORD = os.environ["PASSWORD"]
LOCKED = os.environ["LOCKED_OPERATOR"]
PHONE_TYPED = os.environ["PHONE_TYPED"]
PHONE_STORED = os.environ["PHONE_STORED"]
HELD_ID = os.environ["HELD_ID"]
SHOTS = os.environ["SCREENSHOTS"]
os.makedirs(SHOTS, exist_ok=True)
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def shot(driver, name):
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def post(path, fields, cookie=None):
    """A POST from outside the browser (no CSRF token unless given): status and body."""
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(URL + path, data=data, method="POST")
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def submit(driver, element):
    """Clicks and waits for the next page (a navigation started by a click is not waited for)."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(page))


def sign_in(driver, name, password):
    driver.get(URL + "/signin")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, driver.find_element(By.ID, "signin-button"))


options = Options()
for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                 "--no-first-run", "--disable-extensions", "--disable-background-networking"):
    options.add_argument(argument)
options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
driver.set_page_load_timeout(30)
try:
    # No session: every page answers with the sign-in page.
    driver.get(URL + "/review")
    check(driver.find_elements(By.ID, "signin") != [], "without a session /review shows the sign-in page")
    shot(driver, "01-signin")
    status, body = post("/search", {"q": PHONE_STORED})
    check(status == 401 and 'id="signin"' in body, f"a POST without a session gets the sign-in page (HTTP {status})")

    # Five wrong passwords lock the account; the right one is then refused too.
    for attempt in range(5):
        sign_in(driver, LOCKED, "wrong-password-%d" % attempt)
    message = driver.find_element(By.ID, "message").text
    check("locked" in message, f"five wrong passwords lock the account ({message!r})")
    sign_in(driver, LOCKED, PASSWORD)
    check("locked" in driver.find_element(By.ID, "message").text, "the right password does not open a locked account")
    check(driver.find_elements(By.ID, "search") == [], "a locked operator does not get in")
    shot(driver, "02-locked")

    # Sign in.
    sign_in(driver, OPERATOR, PASSWORD)
    check(driver.current_url.endswith("/search"), f"signed in, on the look-up page ({driver.current_url})")
    cookie = driver.get_cookie("mg_console")
    check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict",
          f"the session cookie is HttpOnly and SameSite=Strict ({cookie and {k: cookie.get(k) for k in ('httpOnly', 'sameSite', 'secure')}})")
    session = "mg_console=" + cookie["value"]

    # A POST with the session but without the CSRF token is refused, and changes nothing.
    status, body = post(f"/review/{HELD_ID}/approve", {}, cookie=session)
    check(status == 403 and "CSRF" in body, f"an approval without the CSRF token is refused (HTTP {status})")
    status, body = post("/search", {"q": PHONE_STORED, "csrf": "0" * 64}, cookie=session)
    check(status == 403, f"a look-up with a wrong CSRF token is refused (HTTP {status})")

    # Look up a phone number written otherwise than stored.
    shot(driver, "03-search")
    box = driver.find_element(By.ID, "q")
    box.send_keys(PHONE_TYPED)
    submit(driver, driver.find_element(By.ID, "search-button"))
    check(PHONE_TYPED not in urllib.parse.unquote(driver.current_url), "the phone number is not in the URL")
    table = driver.find_element(By.ID, "messages").text
    check(PHONE_STORED in table, f"'{PHONE_TYPED}' finds messages stored as {PHONE_STORED}")
    rows = driver.find_elements(By.CSS_SELECTOR, "#messages tr")
    check(len(rows) >= 3, f"several messages listed ({len(rows) - 1})")
    shot(driver, "04-results")

    # A message and how the parser read it.
    submit(driver, driver.find_elements(By.CSS_SELECTOR, "a.message-link")[-1])
    check(driver.find_elements(By.ID, "verdict") != [], "the message page explains the parse")
    check(driver.find_elements(By.ID, "interpretations") != [], "the interpretations are shown")
    check("tokens:" in driver.find_element(By.ID, "parse").get_attribute("textContent"), "what metergate parse prints is there")
    check(driver.find_element(By.ID, "outcome").text != "", "the outcome is shown")
    shot(driver, "05-message")
    links = driver.find_elements(By.CSS_SELECTOR, "#results a")
    if links:
        submit(driver, links[0])
        check(driver.find_elements(By.ID, "history") != [], "the account page shows its history")
        shot(driver, "06-account")

    # The review queue: approve the held reading.
    driver.get(URL + "/review")
    check(driver.find_elements(By.ID, f"held-{HELD_ID}") != [], f"held reading #{HELD_ID} waits in the queue")
    shot(driver, "07-review")
    submit(driver, driver.find_element(By.ID, f"approve-{HELD_ID}"))
    notice = driver.find_element(By.ID, "message").text
    check(notice.startswith(f"Approved #{HELD_ID}"), f"approved ({notice!r})")
    check(driver.find_elements(By.ID, f"held-{HELD_ID}") == [], "it left the queue")
    shot(driver, "08-approved")

    # The month at a glance.
    driver.get(URL + "/month")
    for chart in ("chart-readings", "chart-outcomes", "chart-reasons", "chart-outbox"):
        check(driver.find_elements(By.ID, chart) != [], f"the month page draws {chart}")
    check(driver.find_elements(By.ID, "feeds") != [] and driver.find_elements(By.ID, "today") != [],
          "feed health and today against last month")
    shot(driver, "09-month")

    # Sign out: the session is gone.
    submit(driver, driver.find_element(By.ID, "signout"))
    check(driver.find_elements(By.ID, "signin") != [], "signed out: the sign-in page")
    driver.get(URL + "/search")
    check(driver.find_elements(By.ID, "signin") != [], "after sign-out /search shows the sign-in page")
    status, _ = post("/search", {"q": PHONE_STORED}, cookie=session)
    check(status == 401, f"the old session cookie no longer works (HTTP {status})")
    shot(driver, "10-signed-out")
finally:
    driver.quit()

print(f"{len(failures)} failed" if failures else "all console checks passed", flush=True)
sys.exit(1 if failures else 0)
