"""The documents the office prints and files, as paper: every PDF is rendered, turned into
page images (pdftoppm) and read back page by page (pdftotext).

Set PRINTED_DOCUMENTS_DIR to keep the PDFs and their page images for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, State
from dispatch import services as dispatch_acts
from feedback import selectors as feedback_selectors
from feedback import services as feedback_acts
from feedback.models import ArchiveFile, RetentionPeriod
from oversight.models import SupervisionOrder
from oversight.services import sweep_deadlines
from tests.factories import drive_to


@dataclass
class Paper:
    """A printed document: its pages' text (layout spaces and wraps taken out) and the
    number of page images pdftoppm made of it."""

    pages: list[str]
    images: int

    @property
    def text(self) -> str:
        return "".join(self.pages)


def printed(name: str, pdf: bytes, folder: Path) -> Paper:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(folder / name)], check=True)
    images = sorted(folder.glob(f"{name}-*.png"))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True).stdout
    count = int(re.search(rb"Pages:\s+(\d+)", info).group(1))
    pages = [re.sub(r"\s", "", subprocess.run(
        ["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(path), "-"],
        capture_output=True, check=True).stdout.decode()) for n in range(1, count + 1)]
    keep = os.environ.get("PRINTED_DOCUMENTS_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for file in [path, *images]:
            shutil.copy(file, keep)
    assert len(images) == count
    return Paper(pages=pages, images=len(images))


SEAL = ("盖章处", "（盖章）")


# ---------------------------------------------------------------- a whole case, on paper
@pytest.fixture
def filed(world, travel, tmp_path):
    """A case through every step that prints something: registered at the counter,
    accepted, dispatched, extended, supervised when late, answered from the office's
    draft, visited, archived; and each of its documents as printed."""
    from dispatch.documents import dispatch_slip, extension_notice
    from feedback.documents import dossier
    from intake.documents import document_pdf
    from oversight.documents import supervision_order_pdf

    travel.to(timezone.make_aware(datetime(2026, 3, 2, 9, 0)))
    case = drive_to(world, State.IN_HANDLING)
    extension = dispatch_acts.request_extension(
        actor=world.handler, case_id=case.pk, reason="需现场复核",
        requested_due_at=case.due_at + timedelta(days=3))
    dispatch_acts.approve_extension(actor=world.dispatcher, request_id=extension.pk,
                                    told_reason="需现场复核")
    case.refresh_from_db()
    travel.to(case.due_at + timedelta(minutes=1))
    sweep_deadlines()
    order = SupervisionOrder.objects.get(case=case, level=1)
    dispatch_acts.add_note(actor=world.handler, case_id=case.pk, kind="contact",
                           text="电话联系信访人", contact_method="phone", reached=True)
    dispatch_acts.submit_result(actor=world.handler, case_id=case.pk, findings="夜市摊位占道属实",
                                opinion="责令摊主撤离", result="摊位已撤离", is_solved=True)
    dispatch_acts.approve_result(actor=world.head, case_id=case.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=case.pk)
    draft = feedback_selectors.draft_reply(Case.objects.get(pk=case.pk))
    feedback_acts.send_reply(actor=world.dispatcher, case_id=case.pk, channel="letter",
                             content=draft)
    feedback_acts.record_visit(actor=world.clerk, case_id=case.pk, method="phone",
                               reached=True, is_solved=True, satisfaction="satisfied",
                               comments="很满意")
    case = feedback_acts.archive_case(actor=world.dispatcher, case_id=case.pk)
    case = Case.objects.get(pk=case.pk)
    office = world.supervisor  # sees the whole file, archived or not

    from django.test import Client

    client = Client()
    client.force_login(office)
    letter = client.get(reverse("feedback:reply_letter", args=[case.number]))
    assert letter.status_code == 200
    papers = {
        "registration_form": document_pdf("registration_form", case, office)[1],
        "acceptance_notice": document_pdf("acceptance_notice", case, office)[1],
        "dispatch_slip": dispatch_slip(case, office)[1],
        "extension_notice": extension_notice(case, office, request_id=extension.pk)[1],
        "supervision_order": supervision_order_pdf(order)[1],
        "reply_letter": letter.content,
        "dossier": dossier(case, office)[1],
    }
    refused = drive_to(world, State.REFUSED)
    papers["refusal_notice"] = document_pdf("refusal_notice", refused, office)[1]
    return case, {name: printed(name, pdf, tmp_path) for name, pdf in papers.items()}


# The most pages each document may take, and what it must say.
EXPECTED = {
    "registration_form": (1, ("信访登记表", "小区门口夜市占道经营", "信访人签名", "经办人签名",
                              "日期：年月日")),
    "acceptance_notice": (1, ("受理告知书", "依法受理", *SEAL, "送达签收", "信访人签名",
                              "经办人签名")),
    "refusal_notice": (1, ("不予受理告知书", "请向人民法院提起诉讼", *SEAL, "信访人签名")),
    "dispatch_slip": (1, ("交办单", "城市管理局", "请于交办后1天内签收", *SEAL, "承办单位签收",
                          "签收人签名", "年月日时分")),
    "extension_notice": (1, ("延期告知书", "需现场复核", *SEAL, "信访人签名")),
    "supervision_order": (1, ("督办单", "一级督办", "盖章处", "（督办专用章）", "签收人签名")),
    "reply_letter": (1, ("答复意见书", "夜市摊位占道属实", "摊位已撤离", *SEAL)),
    "dossier": (16, ("信访案卷", "档号", "保管期限", "长期（30年）", "回访记录", "经办人（回访人）签名",
                     "信访人签名", "盖章处", "案件全部记录")),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_document_prints_on_its_pages_with_what_it_must_say(filed, name):
    _case, papers = filed
    paper = papers[name]
    most, phrases = EXPECTED[name]
    assert 1 <= paper.images <= most
    for phrase in phrases:
        assert phrase in paper.text, phrase


def test_no_page_of_any_document_is_left_with_a_line_or_two(filed):
    _case, papers = filed
    for name, paper in papers.items():
        for number, page in enumerate(paper.pages[1:], start=2):
            # A page holds more than its footer (第 n 页 / 共 m 页) and a stray line.
            assert len(re.sub(r"第\d+页/共\d+页", "", page)) > 40, (name, number, page)


def test_the_reply_letter_opens_once_and_writes_its_dates_one_way(filed):
    case, papers = filed
    text = papers["reply_letter"].text
    assert text.count("反映的“") == 1
    assert text.count("已交城市管理局办理") == 1
    assert not re.search(r"\d{4}年0\d月", text)  # 2026年03月02日 is not how a letter dates
    # The same in the dossier's copy of the letter (its history keeps the reply as sent).
    opening = "本机关已交城市管理局办理。现将办理情况答复如下："
    for name in ("reply_letter", "dossier"):
        assert papers[name].text.count(opening + "经调查核实：夜市摊位占道属实") == 1, name


def test_a_time_limit_reads_in_words_not_minutes(filed):
    _case, papers = filed
    for name in ("dispatch_slip", "dossier"):
        text = papers[name].text
        assert "1440分钟" not in text and "分钟内签收" not in text
        assert "请于交办后1天内签收" in text


def test_every_notice_sent_out_has_its_seal_area_below_its_text(filed):
    _case, papers = filed
    for name in ("acceptance_notice", "refusal_notice", "dispatch_slip", "extension_notice",
                 "supervision_order", "reply_letter"):
        page = papers[name].pages[-1]
        assert "盖章处" in page, name
        # The seal covers the office's name and the date (年 月 日), after the body.
        seal = page.index("盖章处")
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", page[seal:]), name


def test_the_dossier_cover_carries_the_archive_number_and_retention(filed):
    case, papers = filed
    file = ArchiveFile.objects.get(case=case)
    year = timezone.localdate(case.archived_at).year
    assert file.number == f"XF-{year}-D30-0001"
    assert file.retention == RetentionPeriod.LONG and file.retention_basis == "办理件"
    cover = papers["dossier"].pages[0]
    assert "档号" + file.number in cover
    assert "保管期限长期（30年）" in cover and f"保管至{year + 30}年12月31日" in cover
    # The cover, with its whole table of contents, is one page.
    assert re.search(r"\d+\.案件全部记录\d+", cover)


# ---------------------------------------------------------------- the monthly report
def _pad(rows: list[dict], count: int, template: dict, prefix: str) -> list[dict]:
    return rows + [{**template, "label": f"{prefix}{n:02d}"} for n in range(count - len(rows))]


@pytest.mark.parametrize("departments", [6, 12, 18, 24, 30])
def test_the_monthly_report_keeps_each_heading_with_its_first_rows(
        world, travel, tmp_path, departments):
    """However many departments push the tables down the pages, a table's heading, its
    header row and its first rows print on one page, and no page is left with a line."""
    from cases.documents import render_pdf
    from oversight.reports import report_context

    travel.to(timezone.make_aware(datetime(2026, 4, 1, 9, 0)))
    context = report_context(date(2026, 3, 1))
    row = {"label": "", "received": 3, "invalid": 0, "deadline_counted": 3, "on_time_rate": 66.7,
           "response_rate": 100.0, "visited": 2, "resolution_rate": 50.0,
           "satisfaction_rate": 100.0, "returns": 1, "extensions": 0, "reopenings": 0}
    context["departments"] = _pad(context["departments"], departments, row, "区属单位")
    context["categories"] = _pad(context["categories"], 9, row, "问题分类")
    context["channels"] = _pad(context["channels"], 6, row, "渠道")
    paper = printed(f"monthly-{departments}", render_pdf(
        "oversight/documents/monthly_report.html", context), tmp_path)
    for heading, column, first_row in (("按部门", "部门", "区属单位00"),
                                       ("按问题分类", "分类", "问题分类00"),
                                       ("按渠道", "渠道", "渠道00")):
        # The heading straight above its table's header row, and the first row with them.
        pages = [p for p in paper.pages if f"{heading}{column}受理量无效件" in p]
        assert len(pages) == 1, (heading, departments)
        assert first_row in pages[0], (heading, departments)
    for number, page in enumerate(paper.pages[1:], start=2):
        assert len(re.sub(r"第\d+页/共\d+页", "", page)) > 40, (departments, number, page)
