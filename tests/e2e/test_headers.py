"""The Content-Security-Policy in a real browser: the pages that run scripts still work,
and the browser reports no violation on any of them."""

import pytest

from cases.models import State
from oversight.figures import refresh_figures
from tests.factories import build_world, drive_to

from .conftest import sign_in

pytestmark = pytest.mark.e2e


def watch_violations(page) -> list[str]:
    """What Chromium says when the policy blocks something ("Refused to …")."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text else None)
    return seen


def test_the_pages_with_scripts_work_under_the_policy(page, live_server):
    world = build_world()
    case = drive_to(world, State.ACCEPTED)
    drive_to(world, State.REPLIED)
    refresh_figures()
    base = live_server.url
    violations = watch_violations(page)

    sign_in(page, base, "supervisor")
    page.goto(f"{base}/oversight/")
    page.wait_for_selector("#breakdown")
    # Chart.js and the dashboard's script, both from static/.
    assert page.evaluate("() => !!Chart.getChart('trend-chart')")

    sign_in(page, base, "dispatcher")
    page.goto(f"{base}/dispatch/cases/{case.number}/")
    # The page's inline script (with the nonce) hides the departments for 直办.
    page.get_by_label("直办").check()
    assert page.locator("#departments").is_hidden()
    page.get_by_label("交办", exact=True).check()
    assert page.locator("#departments").is_visible()

    # The language menu sends itself on change (no inline onchange any more).
    page.locator("select[name=language]").select_option("en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.locator("select[name=language]").select_option("zh-hans")
    page.wait_for_function("() => document.documentElement.lang === 'zh-hans'")

    page.goto(f"{base}/cases/notifications/")
    page.locator("input[name=show][value=unread]").check()
    page.wait_for_url("**show=unread**")

    sign_in(page, base, "admin")
    page.goto(f"{base}/admin/cases/case/")
    page.wait_for_selector("#changelist")
    page.goto(f"{base}/admin/cases/case/{case.pk}/change/")
    page.wait_for_selector("#content-main form")
    page.goto(f"{base}/admin/cases/case/{case.pk}/history/")
    page.wait_for_selector("#content-main")

    page.context.clear_cookies()
    page.goto(f"{base}/public/submit/")
    page.wait_for_selector("form")
    assert violations == []
