import os
import shutil

import pytest
from django.db import connections

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def page(committed_db, live_server):
    """A Chromium page, started after the database is ready.

    Playwright's sync API keeps an event loop running in this thread, and Django's
    connections are context-local under a running loop: the database fixture (which
    restores the seeded rows) must run before the browser starts, so this fixture is
    per test and depends on it.
    """
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the test's own ORM calls are sync
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=FLAGS)
            context = browser.new_context(locale="zh-CN",
                                          viewport={"width": 1280, "height": 800})
            yield context.new_page()
            context.close()
            browser.close()
            # The test's own queries ran under Playwright's loop, on a connection of that
            # context: close it, or it outlives the test database.
            connections.close_all()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_in(page, base, username, password=None):
    """Sign in through the login page as a person would, and wait for the desk."""
    from tests.factories import PASSWORD

    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password or PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/")
