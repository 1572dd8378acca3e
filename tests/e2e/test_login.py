import os

import pytest

from cases.models import State
from tests.factories import PASSWORD, build_world, drive_to

pytestmark = pytest.mark.e2e

SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")


def test_a_clerk_signs_in_and_sees_the_landing_page(page, live_server, tmp_path):
    world = build_world()
    drive_to(world, State.RECEIVED)
    # The home page is the public's; its staff link leads to the login.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="工作人员登录").click()
    assert "/accounts/login/" in page.url
    page.get_by_label("用户名").fill("clerk")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "接待登记工作台"
    assert "小区门口夜市占道经营" in page.locator("table.cases").inner_text()
    page.screenshot(path=os.path.join(SCREENSHOTS or str(tmp_path), "clerk-landing.png"),
                    full_page=True)
