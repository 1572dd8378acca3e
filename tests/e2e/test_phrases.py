"""常用语 in a real browser: 插入 puts the filled phrase at the cursor of the textarea it is
written for, under the Content-Security-Policy (static/js/phrases.js, no inline script)."""

import pytest
from django.urls import reverse

from cases.models import State
from feedback.models import Phrase
from tests.factories import build_world, drive_to

from .conftest import sign_in
from .test_headers import watch_violations

pytestmark = pytest.mark.e2e


def test_a_phrase_goes_in_at_the_cursor_of_its_field(page, live_server):
    world = build_world()
    case = drive_to(world, State.IN_HANDLING)
    Phrase.objects.create(title="核查", use="findings", category=world.category,
                          text="案件{编号}经现场核查属实。")
    Phrase.objects.create(title="意见", use="opinion", text="责令限期整改。")
    base = live_server.url
    violations = watch_violations(page)

    sign_in(page, base, "handler")
    page.goto(base + reverse("dispatch:handle", args=[case.number]))
    findings = page.locator("#result-form textarea[name=findings]")
    findings.fill("前文。后文")
    findings.evaluate("field => field.setSelectionRange(3, 3)")
    page.locator("#phrase-" + str(Phrase.objects.get(use="findings").pk)).get_by_role(
        "button", name="插入").click()
    assert findings.input_value() == f"前文。案件{case.number}经现场核查属实。后文"
    page.locator("#phrase-" + str(Phrase.objects.get(use="opinion").pk)).get_by_role(
        "button", name="插入").click()
    assert page.locator("#result-form textarea[name=opinion]").input_value() == "责令限期整改。"
    assert not violations
