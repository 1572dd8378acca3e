import os

import pytest

from cases.models import State
from tests.factories import build_world, drive_to

from .conftest import sign_in

pytestmark = pytest.mark.e2e
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")
SIZES = {"wide": (1440, 900), "phone": (390, 844)}


def shoot(page, tmp_path, name):
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SCREENSHOTS or str(tmp_path), f"{name}-{size}.png"),
                        full_page=True)


def test_a_desk_count_opens_its_cases_and_a_number_opens_the_case(page, live_server,
                                                                   tmp_path):
    world = build_world()
    waiting = [drive_to(world, State.ACCEPTED) for _ in range(3)]
    drive_to(world, State.IN_HANDLING)

    sign_in(page, live_server.url, "dispatcher")
    figure = page.locator("a.figure", has_text="待交办")
    assert figure.locator(".value").inner_text() == "3"
    shoot(page, tmp_path, "dispatcher-desk")
    figure.click()
    page.wait_for_selector("h1:has-text('待交办')")
    assert page.locator("#case-list tbody tr").count() == 3
    shoot(page, tmp_path, "case-list")
    page.get_by_role("link", name=waiting[1].number, exact=True).click()
    page.wait_for_url(f"{live_server.url}/cases/{waiting[1].number}/")
    assert waiting[1].summary in page.locator("h1").inner_text()
