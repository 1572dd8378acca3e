"""Bulk acts in the browser: a dispatcher ticks rows of 待交办 and dispatches them at
once; at a phone's width the ticks, "select all" and the form stay usable; a head ticks
inbox rows and assigns them to a handler."""

import pytest

from cases.models import Case, State
from tests.factories import build_world, drive_to

from .conftest import sign_in

pytestmark = pytest.mark.e2e


def test_a_dispatcher_ticks_three_rows_and_dispatches_them(page, live_server):
    world = build_world()
    cases = [drive_to(world, State.ACCEPTED) for _ in range(4)]
    ticked, left = cases[:3], cases[3]

    sign_in(page, live_server.url, "dispatcher")
    page.get_by_role("link", name="派单", exact=True).click()
    for case in ticked:
        page.get_by_label(f"选择 {case.number}").check()
    page.locator('[data-ticked-count="bulk-dispatch"]').filter(has_text="已勾选 3 件").wait_for()
    form = page.locator("#bulk-dispatch")
    form.get_by_label("主办部门").select_option(label="城市管理局")
    form.get_by_label("交办意见").fill("请三日内现场核查")
    form.get_by_role("button", name="交办所选案件").click()
    page.wait_for_selector("text=已交办 3 件")

    for case in ticked:
        case.refresh_from_db()
        assert (case.state, case.lead_department) == (State.DISPATCHED, world.a)
        assert case.events.get(action="dispatch").note == "请三日内现场核查"
    assert Case.objects.get(pk=left.pk).state == State.ACCEPTED
    assert page.get_by_label(f"选择 {left.number}").is_visible()  # still to dispatch


MEASURE = """() => ({overflow: document.documentElement.scrollWidth - window.innerWidth,
  boxes: [...document.querySelectorAll('td.select label.tick')].filter(l => l.offsetParent)
    .map(l => { const r = l.getBoundingClientRect(); return [r.width, r.height]; })})"""


def test_at_a_phone_s_width_the_ticks_and_the_form_are_usable(page, live_server):
    world = build_world()
    cases = [drive_to(world, State.ACCEPTED) for _ in range(3)]
    page.set_viewport_size({"width": 390, "height": 844})

    sign_in(page, live_server.url, "dispatcher")
    page.goto(f"{live_server.url}/dispatch/desk/")
    measured = page.evaluate(MEASURE)
    assert measured["overflow"] <= 0
    assert len(measured["boxes"]) == 3
    assert all(width >= 32 and height >= 32 for width, height in measured["boxes"])  # a thumb
    page.get_by_label("全选本页").check()
    for case in cases:
        assert page.get_by_label(f"选择 {case.number}").is_checked()
    form = page.locator("#bulk-dispatch")
    form.get_by_label("主办部门").select_option(label="住房和城乡建设局")
    button = form.get_by_role("button", name="交办所选案件")
    assert button.bounding_box()["width"] > 300  # the whole width of the card
    button.click()
    page.wait_for_selector("text=已交办 3 件")
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases])
               .values_list("lead_department", flat=True)) == {world.b.pk}

    cases = [Case.objects.get(pk=c.pk) for c in cases]
    sign_in(page, live_server.url, "head_b")
    page.goto(f"{live_server.url}/dispatch/inbox/")
    assert page.evaluate(MEASURE)["overflow"] <= 0
    page.get_by_label(f"选择 {cases[0].number}").check()
    page.get_by_label(f"选择 {cases[2].number}").check()
    form = page.locator("#bulk-assign")
    form.get_by_label("承办人").select_option(value=str(world.handler_b.pk))
    form.get_by_role("button", name="分派所选案件").click()
    page.wait_for_selector("text=已分派 2 件")
    handlers = dict(Case.objects.filter(pk__in=[c.pk for c in cases])
                    .values_list("pk", "handler__username"))
    assert handlers == {cases[0].pk: "handler_b", cases[1].pk: None, cases[2].pk: "handler_b"}
