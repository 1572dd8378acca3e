import io
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case, CaseSchedule, State
from oversight.figures import refresh_figures
from oversight.services import sweep_deadlines
from tests.factories import build_world, drive_to

from .conftest import sign_in

pytestmark = pytest.mark.e2e
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")


def test_a_supervisor_reads_the_dashboard_drills_into_overdue_and_exports(page, live_server,
                                                                           tmp_path):
    from openpyxl import load_workbook

    world = build_world()
    late = drive_to(world, State.IN_HANDLING)
    Case.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=2))
    CaseSchedule.objects.update_or_create(
        case_id=late.pk, defaults={"next_action_at": timezone.now() - timedelta(hours=2)})
    on_time = drive_to(world, State.REPLIED)
    drive_to(world, State.ACCEPTED)
    sweep_deadlines()
    refresh_figures()
    base = live_server.url

    sign_in(page, base, "supervisor")
    page.get_by_role("link", name="统计分析").click()
    page.wait_for_selector("#breakdown")
    assert page.locator("#live-overdue .value").inner_text() == "1"
    assert page.locator("#totals").get_by_text("50.0%").count() >= 1  # on time: 1 of 2
    # The charts were drawn by the static Chart.js.
    assert page.evaluate("() => !!Chart.getChart('trend-chart') && !!Chart.getChart('ranking-chart')")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "dashboard.png"), full_page=True)

    page.locator("#live-overdue").click()
    page.wait_for_selector("#drilldown")
    rows = page.locator("#drilldown tbody tr")
    assert rows.count() == 1 and late.number in rows.first.inner_text()
    assert on_time.number not in page.content()

    page.go_back()
    with page.expect_download() as download_info:
        page.locator("#export-xlsx").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(open(download.path(), "rb").read())).active
    headers = [cell.value for cell in sheet[3]]
    total = [cell.value for cell in sheet[sheet.max_row]]
    assert total[0] == "合计" and total[headers.index("受理量")] == 3
    assert total[headers.index("按期答复率%")] == 50.0
