import os
import re
import subprocess

import pytest

from cases.models import Case, State
from dispatch import services as dispatch_services
from intake import query_codes
from tests.factories import build_world, drive_to

from .conftest import sign_in

pytestmark = pytest.mark.e2e
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")


def test_reply_rate_archive_and_the_dossier(page, live_server, tmp_path):
    world = build_world()
    case = drive_to(world, State.IN_HANDLING)
    dispatch_services.submit_result(actor=world.handler, case_id=case.pk, findings="现场核查属实",
                                    opinion="责令撤离", result="摊位已撤离", is_solved=True)
    dispatch_services.approve_result(actor=world.head, case_id=case.pk)
    dispatch_services.approve_result(actor=world.dispatcher, case_id=case.pk)
    base = live_server.url

    sign_in(page, base, "dispatcher")
    page.get_by_role("link", name="答复回访").click()
    page.locator("tr", has_text=case.number).get_by_role("link", name="答复").click()
    assert "摊位已撤离" in page.locator("#id_content").input_value()  # the draft
    page.get_by_label("书面信函").check()
    page.get_by_role("button", name="答复信访人").click()
    page.wait_for_selector(f"text=已答复 {case.number}")

    page.context.clear_cookies()
    page.goto(f"{base}/public/track/")
    page.get_by_label("案件编号").fill(case.number)
    page.get_by_label("查询码").fill(query_codes.issue(case))  # as 补发查询码 gives one
    page.get_by_role("button", name="查询").click()
    assert "摊位已撤离" in page.locator("#reply").inner_text()
    page.get_by_role("link", name="评价办理结果").click()
    page.get_by_label("已解决", exact=True).check()
    page.get_by_label("满意", exact=True).check()
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_selector("text=感谢您的评价")

    sign_in(page, base, "clerk")
    page.get_by_role("link", name="答复回访").click()
    page.locator("tr", has_text=case.number).get_by_role("link", name="归档").click()
    page.get_by_label("我已核对案卷材料").check()
    page.get_by_role("button", name="确认归档").click()
    page.wait_for_selector(f"text=已归档 {case.number}")
    assert Case.objects.get(pk=case.pk).state == State.ARCHIVED

    page.goto(f"{base}/cases/{case.number}/")
    href = page.get_by_role("link", name="案卷（PDF）").get_attribute("href")
    response = page.context.request.get(base + href)
    assert response.headers["content-type"] == "application/pdf"
    text = re.sub(r"\s", "", subprocess.run(["pdftotext", "-", "-"], input=response.body(),
                                            capture_output=True, check=True).stdout.decode())
    assert "信访案卷" in text and "回访记录" in text and "信访人网上评价" in text
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "archived-case.png"), full_page=True)
