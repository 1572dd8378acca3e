"""The counter form for fast hands, in a browser: Enter saves, the cursor goes to the first
field in error, the 12345 fields come with that channel, the category is typed by pinyin."""

import pytest

from cases.models import Case
from tests.e2e.conftest import sign_in
from tests.factories import build_world

pytestmark = pytest.mark.e2e


def open_form(page, live_server, query=""):
    sign_in(page, live_server.url, "clerk")
    page.goto(f"{live_server.url}/intake/register/{query}")


def test_enter_in_a_field_saves_the_registration(page, live_server):
    build_world()
    open_form(page, live_server)
    page.locator("#id_phone").fill("13911112222")
    page.locator("#id_name").fill("孙丽华")
    page.locator("#id_summary").fill("楼下餐馆油烟直排")
    page.locator("#id_content").fill("和平里小区底商餐馆油烟直排。")
    page.locator("#id_content").press("Enter")  # a newline in a textarea, not a save
    assert page.locator("#id_content").input_value().endswith("\n")
    page.locator("#category-filter").fill("zdjy")
    page.locator("#category-filter").press("Enter")  # picks the match
    assert page.locator("#id_category option:checked").inner_text() == "占道经营"
    page.locator("#id_summary").press("Enter")
    page.wait_for_selector("text=已登记：")
    case = Case.objects.get()
    assert case.category.name == "占道经营" and case.channel == "visit"
    assert "检查重复" not in page.content()  # it was saved, not checked
    next_link = page.locator("#register-next")
    assert next_link.get_attribute("href").endswith("/intake/register/?channel=visit")
    next_link.click()
    assert page.locator("#id_channel").input_value() == "visit"


def test_after_a_failed_submit_the_cursor_is_on_the_first_field_in_error(page, live_server):
    build_world()
    open_form(page, live_server)
    page.locator("#id_name").fill("孙丽华")
    page.locator("#id_summary").fill("楼下餐馆油烟直排")
    page.keyboard.press("Alt+S")  # no phone, no content
    page.wait_for_selector(".field.has-error")
    assert page.evaluate("document.activeElement.id") == "id_phone"
    border = page.locator("#id_phone").evaluate("e => getComputedStyle(e).borderTopColor")
    assert border == "rgb(185, 28, 28)"  # --danger
    assert page.locator("#id_content").evaluate(
        "e => getComputedStyle(e).borderTopColor") == "rgb(185, 28, 28)"
    assert page.locator("#id_name").evaluate(
        "e => getComputedStyle(e).borderTopColor") != "rgb(185, 28, 28)"


def test_the_12345_ticket_fields_come_with_the_12345_channel(page, live_server):
    build_world()
    open_form(page, live_server)
    ticket = page.locator("#id_external_reference")
    assert not ticket.is_visible()
    page.locator("#id_channel").select_option("hotline_12345")
    assert ticket.is_visible() and page.locator("#id_platform_due_at").is_visible()
    page.locator("#id_channel").select_option("phone")
    assert not ticket.is_visible()


def test_the_category_is_found_by_pinyin_initials_or_by_name(page, live_server):
    build_world()
    open_form(page, live_server)
    box = page.locator("#category-filter")
    box.type("zdjy")
    assert page.locator("#category-matches li").first.inner_text().startswith("占道经营")
    page.locator("#category-matches li").first.click()
    assert page.locator("#id_category option:checked").inner_text() == "占道经营"
    box.fill("")
    box.type("占道")
    box.press("Tab")
    assert page.locator("#id_category option:checked").inner_text() == "占道经营"


def test_the_shortcut_panel_opens_with_the_question_mark(page, live_server):
    build_world()
    open_form(page, live_server)
    page.locator("h1").click()
    page.keyboard.press("?")
    panel = page.locator("#shortcut-help")
    assert panel.is_visible() and "Alt" in panel.inner_text()
    page.keyboard.press("Escape")
    assert not panel.is_visible()


def test_a_phone_complaint_takes_few_keys(page, live_server):
    """The keystrokes of a typical 来电 after 登记下一件 (channel preselected), counted:
    README's figure. Typing the person's words is not counted, only the moves."""
    build_world()
    open_form(page, live_server, "?channel=phone")
    moves = 0

    def press(key, times=1):
        nonlocal moves
        for _ in range(times):
            page.keyboard.press(key)
            moves += 1

    page.keyboard.type("13911112222")  # the cursor starts at the phone
    press("Tab", 2)  # 身份证号码 → 姓名
    page.keyboard.type("孙丽华")
    press("Tab", 8)  # gender, age, occupation, phone_alt, email, address, 保密 → 诉求摘要
    page.keyboard.type("楼下餐馆油烟直排")
    press("Tab")
    page.keyboard.type("和平里小区底商餐馆油烟直排。")
    press("Tab", 3)  # 诉求, 问题发生地 → the category box
    page.keyboard.type("zdjy")
    moves += 4
    press("Enter")  # picks 占道经营
    press("Enter")  # saves
    page.wait_for_selector("text=已登记：")
    case = Case.objects.get()
    assert (case.channel, case.category.name, case.petitioner.name) == ("phone", "占道经营", "孙丽华")
    assert moves == 20
