"""A case's whole life in the browser, through pages only (issue 11, item 4).

The world (offices, people, a category) is built with the factories; from then on every
step is a person on a page: the petitioner on the public portal without logging in, the
office and the department each with their own login. Screenshots go to SCREENSHOT_DIR
when it is set; with SHOTS_DIR set too (e.g. /tmp/shots) the key pages are also taken at
desktop (1440×900) and phone (390×844) width.
"""

import os

import pytest

from cases.models import Case, HandlingMode, ReviewStage, State
from tests.factories import build_world, register

from .conftest import sign_in

pytestmark = pytest.mark.e2e
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")
SHOTS = os.environ.get("SHOTS_DIR")
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}


def shot(page, name):
    """The page as it is, full length; at both widths for the pages a reviewer looks at."""
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"lifecycle-{name}.png"), full_page=True)
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        before = page.viewport_size
        for label, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=os.path.join(SHOTS, f"{name}-{label}.png"), full_page=True)
        page.set_viewport_size(before)


def act_button(page, name):
    """The case page's button for act `name` (one per act the person may make now)."""
    return page.locator(f'#acts [data-act="{name}"]')


def handling_button(page, number):
    """The one button to the handling page: every act made there (notes, files, extension,
    result, review) shares it; it says 办理 or 审核 and lists its acts in data-acts."""
    return page.locator(f'#acts a[href="/dispatch/cases/{number}/handle/"]')


def offered(page):
    return page.locator("#acts [data-act]").evaluate_all(
        "buttons => buttons.map(b => b.dataset.act)")


def open_case(page, base, number):
    page.goto(f"{base}/cases/{number}/")
    page.wait_for_selector("h1")


def event_actions(case):
    return list(case.events.order_by("at", "pk").values_list("action", flat=True))


def test_a_web_complaint_goes_all_the_way_to_the_archive(page, live_server):
    world = build_world()
    base = live_server.url

    # The petitioner files on the portal, no login.
    page.goto(f"{base}/public/submit/")
    page.get_by_label("姓名").fill("周明")
    page.get_by_label("联系电话").fill("13622223333")
    page.get_by_label("问题类别（选填）").select_option(label="占道经营")
    page.get_by_label("一句话说明您反映的问题").fill("幸福路夜市占道经营，噪音扰民")
    page.get_by_label("详细情况").fill("幸福路12号院门口每晚有十余个摊位占道经营，至凌晨仍有噪音。")
    page.get_by_label("您的诉求").fill("请取缔占道摊位，恢复夜间安静。")
    page.get_by_label("问题发生地点").fill("幸福路12号院门口")
    page.get_by_role("button", name="提交").click()
    number = page.locator("#case-number").inner_text().strip()
    code = page.locator("#query-code").inner_text().strip()  # shown once, on this page
    assert number.startswith("XF-")
    case = Case.objects.get(number=number)
    assert case.state == State.RECEIVED and case.petitioner.phone == "13622223333"

    # The clerk finds it in 待受理 and accepts it from its row.
    sign_in(page, base, "clerk")
    page.get_by_role("link", name="待受理", exact=True).click()
    row = page.locator("#received-queue tr", has_text=number)
    assert row.locator("[data-act]").evaluate_all("bs => bs.map(b => b.dataset.act)") == [
        "accept", "answer_on_the_spot", "refuse", "merge", "withdraw"]
    shot(page, "intake-queue")
    row.locator('[data-act="accept"]').click()
    page.wait_for_url(f"**/cases/{number}/acts/accept/**")
    assert "幸福路12号院门口每晚" in page.locator("main").inner_text()  # what is accepted
    shot(page, "act-accept")
    page.get_by_label("受理说明").fill("属城市管理事项，依法受理")
    page.locator("main form").get_by_role("button", name="受理").click()
    page.wait_for_url(f"{base}/intake/queue/")  # back where the clerk came from
    page.wait_for_selector(f"text=受理：{number}")
    assert page.locator("#received-queue tr", has_text=number).count() == 0

    # The dispatcher dispatches it to the department from the case page.
    sign_in(page, base, "dispatcher")
    open_case(page, base, number)
    assert "已受理" in page.locator(".lead .state").inner_text()
    shot(page, "case-accepted-dispatcher")
    act_button(page, "dispatch").click()
    page.wait_for_url(f"{base}/dispatch/cases/{number}/")
    page.get_by_label("交办", exact=True).check()
    page.get_by_label("主办部门").select_option(label="城市管理局")
    page.get_by_label("交办意见").fill("请三日内现场核查并答复")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_selector(f"text={number}：已交办")

    # The department handler signs for it in the inbox, then submits the result.
    sign_in(page, base, "handler")
    page.get_by_role("link", name="部门待办").click()
    page.locator("tr", has_text=number).get_by_role("button", name="签收").click()
    page.wait_for_selector(f"text=已签收 {number}")
    open_case(page, base, number)
    assert handling_button(page, number).inner_text() == "办理"
    assert "submit_result" in handling_button(page, number).get_attribute("data-acts")
    shot(page, "case-in-handling-handler")
    handling_button(page, number).click()
    page.wait_for_url(f"{base}/dispatch/cases/{number}/handle/")
    page.get_by_label("调查核实情况").fill("现场核查，夜市摊位占用人行道属实")
    page.get_by_label("处理意见").fill("依法责令撤离，安排夜间巡查")
    page.locator("#id_result").fill("摊位已全部撤离，已恢复通行")
    page.get_by_label("已解决", exact=True).check()
    shot(page, "handle-handler")
    page.get_by_role("button", name="提交审核").click()
    page.wait_for_selector("text=办理结果已提交审核")

    # The head, then the office, approve it from the case page.
    for reviewer in ("head", "dispatcher"):
        sign_in(page, base, reviewer)
        open_case(page, base, number)
        assert handling_button(page, number).inner_text() == "审核"
        assert "approve_result" in handling_button(page, number).get_attribute("data-acts")
        handling_button(page, number).click()
        page.wait_for_url(f"{base}/dispatch/cases/{number}/handle/")
        page.get_by_label("审核通过").check()
        page.get_by_role("button", name="提交审核意见").click()
        page.wait_for_selector("text=已审核")
    case.refresh_from_db()
    assert (case.state, case.review_stage) == (State.RESULT_SUBMITTED, ReviewStage.APPROVED)

    # The dispatcher replies on the reply page (its draft is the approved result).
    open_case(page, base, number)
    act_button(page, "reply").click()
    page.wait_for_url(f"{base}/feedback/cases/{number}/reply/")
    assert "摊位已全部撤离" in page.locator("#id_content").input_value()
    page.get_by_label("网上答复").check()
    page.get_by_role("button", name="答复信访人").click()
    page.wait_for_selector(f"text=已答复 {number}")

    # The petitioner tracks it with number and query code, reads the reply and rates it
    # through the signed link.
    page.context.clear_cookies()
    page.goto(f"{base}/public/track/")
    page.get_by_label("案件编号").fill(number)
    page.get_by_label("查询码").fill(code)
    page.get_by_role("button", name="查询").click()
    assert "摊位已全部撤离" in page.locator("#reply").inner_text()
    page.get_by_role("link", name="评价办理结果").click()
    page.get_by_label("已解决", exact=True).check()
    page.get_by_label("满意", exact=True).check()
    page.get_by_label("意见和建议").fill("处理及时，谢谢")
    shot(page, "public-track-rate")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_selector("text=感谢您的评价")
    assert Case.objects.get(pk=case.pk).state == State.VISITED

    # The dispatcher archives it from the case page. (Not the clerk: a clerk sees the cases
    # they registered and the intake queue, and nobody registered a web submission.)
    sign_in(page, base, "dispatcher")
    open_case(page, base, number)
    act_button(page, "archive").click()
    page.wait_for_url(f"{base}/feedback/cases/{number}/archive/")
    page.get_by_label("我已核对案卷材料").check()
    page.get_by_role("button", name="确认归档").click()
    page.wait_for_selector(f"text=已归档 {number}")

    # Archived files are read by the supervisors (dispatchers work on open cases only).
    sign_in(page, base, "supervisor")
    open_case(page, base, number)
    assert page.locator(".lead .state").inner_text() == "已归档"
    # Nothing is left to do but what may change even then: who sees the petitioner, and a
    # correction of the party complained about (the 被投诉统计 count it).
    assert set(offered(page)) <= {"change_confidential", "change_complained_party"}
    href = page.get_by_role("link", name="案卷（PDF）").get_attribute("href")
    response = page.context.request.get(base + href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    shot(page, "case-archived")

    case.refresh_from_db()
    assert case.state == State.ARCHIVED and case.handling_mode == HandlingMode.ASSIGNED
    assert case.lead_department == world.a and case.handler == world.handler
    assert case.category == world.category and case.invalid_reason == ""
    assert case.handling_results.get().result == "摊位已全部撤离，已恢复通行"
    reply = case.replies.get()
    assert reply.channel == "web" and "摊位已全部撤离" in reply.full_text
    visit = case.return_visits.get()
    assert (visit.method, visit.reached, visit.is_solved, visit.satisfaction) == (
        "public", True, True, "satisfied")
    assert visit.comments == "处理及时，谢谢"
    assert event_actions(case) == [
        "register", "accept", "dispatch", "department_accept", "submit_result",
        "approve_result", "approve_result", "reply_to_petitioner", "record_return_visit",
        "archive"]
    actors = list(case.events.order_by("at", "pk").values_list("actor__username", flat=True))
    assert actors == [None, "clerk", "dispatcher", "handler", "handler", "head", "dispatcher",
                      "dispatcher", None, "dispatcher"]


def test_the_office_finishes_a_case_it_handles_itself(page, live_server):
    world = build_world()
    case = register(world, summary="信访办门前人行道破损", content="信访办门前人行道地砖破损，老人易绊倒。")
    number, base = case.number, live_server.url

    # The clerk accepts it from the case page, on the generic act page.
    sign_in(page, base, "clerk")
    open_case(page, base, number)
    act_button(page, "accept").click()
    page.wait_for_url(f"{base}/cases/{number}/acts/accept/")
    page.locator("main form").get_by_role("button", name="受理").click()
    page.wait_for_url(f"{base}/cases/{number}/")
    page.wait_for_selector(f"text=受理：{number}")

    # The dispatcher chooses 直办 on the dispatch page.
    sign_in(page, base, "dispatcher")
    open_case(page, base, number)
    act_button(page, "dispatch").click()
    page.wait_for_url(f"{base}/dispatch/cases/{number}/")
    page.get_by_label("直办", exact=True).check()
    page.get_by_label("交办意见").fill("由信访办直接核实处理")
    shot(page, "dispatch-direct")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_selector(f"text={number}：办理中")
    case.refresh_from_db()
    assert (case.state, case.handling_mode) == (State.IN_HANDLING, HandlingMode.DIRECT)

    # The dispatcher works it as the office: the result on the handling page...
    open_case(page, base, number)
    assert handling_button(page, number).inner_text() == "办理"
    assert "submit_result" in handling_button(page, number).get_attribute("data-acts")
    shot(page, "case-direct-dispatcher")
    handling_button(page, number).click()
    page.wait_for_url(f"{base}/dispatch/cases/{number}/handle/")
    shot(page, "handle-direct-dispatcher")
    page.get_by_label("调查核实情况").fill("现场查看，门前人行道地砖破损约二十块属实")
    page.get_by_label("处理意见").fill("联系物业当日更换破损地砖")
    page.locator("#id_result").fill("破损地砖已全部更换")
    page.get_by_label("已解决", exact=True).check()
    page.get_by_role("button", name="提交审核").click()
    page.wait_for_selector("text=办理结果已提交审核")

    # ...approved by the office itself (no department head for a 直办 case)...
    open_case(page, base, number)
    assert handling_button(page, number).inner_text() == "审核"
    assert "approve_result" in handling_button(page, number).get_attribute("data-acts")
    handling_button(page, number).click()
    page.wait_for_url(f"{base}/dispatch/cases/{number}/handle/")
    page.get_by_label("审核通过").check()
    page.get_by_role("button", name="提交审核意见").click()
    page.wait_for_selector("text=已审核")

    # ...replied by phone...
    open_case(page, base, number)
    act_button(page, "reply").click()
    page.wait_for_url(f"{base}/feedback/cases/{number}/reply/")
    page.get_by_label("电话", exact=True).check()
    page.get_by_role("button", name="答复信访人").click()
    page.wait_for_selector(f"text=已答复 {number}")

    # ...the return visit reaches no one three times (the generic act page)...
    for attempt in range(3):
        open_case(page, base, number)
        assert "archive" not in offered(page)
        act_button(page, "record_unreached_visit").click()
        page.wait_for_url(f"{base}/cases/{number}/acts/record_unreached_visit/")
        if attempt == 0:
            shot(page, "act-unreached-visit")
        page.get_by_label("电话回访").check()
        page.get_by_label("说明").fill(f"第{attempt + 1}次电话回访，无人接听")
        page.locator("main form").get_by_role("button", name="回访未联系上").click()
        page.wait_for_url(f"{base}/cases/{number}/")
        page.wait_for_selector(f"text=回访未联系上：{number}")

    # ...and then it is archived.
    assert "archive" in offered(page)
    act_button(page, "archive").click()
    page.wait_for_url(f"{base}/feedback/cases/{number}/archive/")
    page.get_by_label("归档说明").fill("三次回访未联系上，按规定归档")
    page.get_by_label("我已核对案卷材料").check()
    page.get_by_role("button", name="确认归档").click()
    page.wait_for_selector(f"text=已归档 {number}")
    sign_in(page, base, "clerk")  # who registered it reads the closed file
    open_case(page, base, number)
    assert page.locator(".lead .state").inner_text() == "已归档"
    assert page.get_by_role("link", name="案卷（PDF）").count() == 1
    shot(page, "case-direct-archived")

    case.refresh_from_db()
    assert case.state == State.ARCHIVED and case.handling_mode == HandlingMode.DIRECT
    assert case.unreached_visits == 3 and case.return_visits.filter(reached=False).count() == 3
    result = case.handling_results.get()
    assert result.result == "破损地砖已全部更换" and result.submitted_by == world.dispatcher
    assert case.replies.get().channel == "phone"
    assert event_actions(case) == [
        "register", "accept", "handle_directly", "submit_result", "approve_result",
        "reply_to_petitioner", "visit_unreached", "visit_unreached", "visit_unreached",
        "archive"]
    assert set(case.events.exclude(action__in=["register", "accept"])
               .values_list("actor__username", flat=True)) == {"dispatcher"}
