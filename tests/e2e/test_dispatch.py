import os

import pytest

from cases.models import Case, State
from tests.factories import build_world, drive_to

from .conftest import sign_in

pytestmark = pytest.mark.e2e
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")


def test_dispatch_handle_and_approve_in_the_browser(page, live_server, tmp_path):
    world = build_world()
    case = drive_to(world, State.ACCEPTED)
    base = live_server.url

    sign_in(page, base, "dispatcher")
    page.get_by_role("link", name="派单", exact=True).click()
    page.locator("tr", has_text=case.number).get_by_role("link", name="交办").click()
    page.get_by_label("主办部门").select_option(label="城市管理局")
    page.get_by_label("交办意见").fill("请三日内现场核查")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_selector(f"text={case.number}：已交办")

    sign_in(page, base, "handler")
    page.get_by_role("link", name="部门待办").click()
    row = page.locator("tr", has_text=case.number)
    row.get_by_role("button", name="签收").click()
    page.wait_for_selector(f"text=已签收 {case.number}")
    row.get_by_role("link", name="办理", exact=True).click()
    page.locator("#id_kind").select_option("contact")
    page.locator("#id_contact_method").select_option("phone")
    page.locator("#id_reached").select_option("yes")
    page.locator("#note-form textarea").fill("已电话联系信访人，约定明日现场查看")
    page.get_by_role("button", name="添加记录").click()
    page.get_by_label("调查核实情况").fill("现场核查，夜市摊位占用人行道属实")
    page.get_by_label("处理意见").fill("依法责令撤离，安排夜间巡查")
    page.locator("#id_result").fill("摊位已撤离，已恢复通行")
    page.get_by_label("已解决", exact=True).check()
    page.get_by_role("button", name="提交审核").click()
    page.wait_for_selector("text=办理结果已提交审核")
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "handle.png"), full_page=True)

    for reviewer in ("head", "dispatcher"):
        sign_in(page, base, reviewer)
        page.get_by_role("link", name="审核", exact=True).click()
        page.locator("tr", has_text=case.number).get_by_role("link", name="审核").click()
        page.get_by_label("审核通过").check()
        page.get_by_role("button", name="提交审核意见").click()
        page.wait_for_selector("text=已审核")

    case.refresh_from_db()
    assert (case.state, case.review_stage) == (State.RESULT_SUBMITTED, "approved")
    assert case.responded_at is not None and case.handler == world.handler
    assert case.handling_results.get().result == "摊位已撤离，已恢复通行"
