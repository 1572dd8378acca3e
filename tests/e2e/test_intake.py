import os
import subprocess

import pytest

from cases.models import Case, State
from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.e2e

SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, tmp_path, name):
    page.screenshot(path=os.path.join(SCREENSHOTS or str(tmp_path), name), full_page=True)


def test_a_clerk_registers_a_visit_and_prints_the_acceptance_notice(page, live_server,
                                                                   tmp_path):
    build_world()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill("clerk")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="登记", exact=True).click()

    page.get_by_label("来源渠道").select_option("visit")
    page.locator("#id_phone").fill("13800138001")
    page.locator("#id_phone").press("Tab")  # brings up the known petitioner
    page.get_by_role("button", name="使用已有信访人：刘建国 13800138001").click()
    assert page.get_by_label("姓名").input_value() == "刘建国"
    page.get_by_label("诉求摘要").fill("小区门口夜市占道经营，噪音大")
    page.get_by_label("反映内容").fill("幸福路12号院门口每晚有十余个摊位占道经营，至凌晨仍有噪音。")
    page.get_by_label("问题分类").select_option(label="占道经营")
    page.get_by_label("受理", exact=True).check()
    shot(page, tmp_path, "register-filled.png")
    page.get_by_role("button", name="保存登记").click()

    page.wait_for_selector("text=已登记：")
    case = Case.objects.get()
    assert case.state == State.ACCEPTED and case.petitioner.name == "刘建国"
    assert case.number in page.locator("h1").inner_text()
    shot(page, tmp_path, "case-page.png")

    link = page.get_by_role("link", name="受理告知书")
    response = page.context.request.get(live_server.url + link.get_attribute("href"))
    assert response.headers["content-type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=response.body(), capture_output=True,
                          check=True).stdout.decode()
    assert case.number in text and "小区门口夜市占道经营" in text and "依法受理" in text


def test_the_public_submits_and_tracks_a_case(page, live_server, tmp_path):
    build_world()
    page.goto(f"{live_server.url}/public/submit/")
    page.get_by_label("姓名").fill("周明")
    page.get_by_label("联系电话").fill("13622223333")
    page.get_by_label("一句话说明您反映的问题").fill("阳光花园垃圾站三天未清运")
    page.get_by_label("详细情况").fill("垃圾站三天没有清运，异味严重，请尽快处理。")
    page.get_by_role("button", name="提交").click()
    number = page.locator("#case-number").inner_text()
    code = page.locator("#query-code").inner_text()
    assert number.startswith("XF-") and len(code) == 9
    shot(page, tmp_path, "public-submitted.png")

    page.get_by_role("link", name="查询办理进度").click()
    assert page.get_by_label("案件编号").input_value() == number
    page.get_by_label("查询码").fill(code)
    page.get_by_role("button", name="查询").click()
    assert "您的诉求已登记" in page.locator("#tracking").inner_text()
    assert "?" not in page.url  # nothing of the query in the address
    shot(page, tmp_path, "public-tracking.png")

    page.get_by_label("查询码").fill("ABCD-2345")
    page.get_by_role("button", name="查询").click()
    assert "没有与该编号和查询码相符的案件" in page.content()
    assert page.locator("#tracking").count() == 0


def test_the_counter_form_suggests_as_the_clerk_types(page, live_server, tmp_path):
    from dispatch.models import ResponsibilityEntry

    world = build_world()
    ResponsibilityEntry.objects.create(matter="燃气安全", keywords="燃气", department=world.a,
                                       version="2026年版")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill("clerk")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server.url}/intake/register/")
    page.get_by_label("诉求摘要").fill("地下室燃气味很浓")
    page.get_by_label("反映内容").type("一楼地下室一股燃气味，住户不敢开灯")
    box = page.locator("#triage-suggestion")
    box.wait_for(state="visible", timeout=10000)
    assert "至少 T1" in box.inner_text()
    assert "权责清单（2026年版）：燃气安全" in box.inner_text()
    page.locator("#triage-suggestion button", has_text="T1").first.click()
    assert page.get_by_label("响应级别").input_value() == "T1"
    shot(page, tmp_path, "register-suggestion.png")
