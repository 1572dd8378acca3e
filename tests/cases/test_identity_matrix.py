"""The identity policy by every door: a matrix that cannot go stale.

Every URL pattern of the URL configuration must have an entry below (a new door with no
entry fails `test_every_door_has_an_entry`). Each door is requested by each person for
a confidential petitioner's cases — one led by department A and assisted by B, one
already replied, and the same person's non-confidential case (confidential towards the
departments too) — and the answer's text, PDF text (pdftotext) and spreadsheet cells
included, must not hold the petitioner's name, phones, ID number, address or e-mail for
a department, nor the full phone, ID number, address or e-mail on the office's pages
(masked by default; documents and the return-visit call carry them in full).
"""

import io
import subprocess
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from cases.acts import all_acts
from cases.identity import mask_id_number, mask_phone
from cases.models import Attachment, AttachmentKind, Case, Notification, Petitioner, State
from dispatch import services as dispatch_acts
from oversight.models import SupervisionOrder
from tests.factories import build_world, drive_to, register, reply_from_handling

def valid_id(body17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights)) % 11]


NAME, PHONE, PHONE_ALT = "欧阳保密", "13912345678", "13687654321"
ID_NUMBER, ADDRESS, EMAIL = (valid_id("11010519900101123"), "幸福路八十八号三单元",
                             "secret.person@example.org")
DEPARTMENT_PEOPLE = ["handler", "head", "handler_b", "head_b"]
OFFICE_PEOPLE = ["clerk", "dispatcher", "supervisor", "admin"]


def walk(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                yield "admin", prefix + str(pattern.pattern)
                continue
            inner = ":".join(filter(None, [namespace, pattern.namespace])) or None
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), \
                prefix + str(pattern.pattern)


def per_case(name):
    return lambda s: [reverse(name, args=[case.number]) for case in s.cases]


# name → the URLs to request, from the scene `s`. Every URL pattern has an entry.
DOORS = {
    "admin": lambda s: ["/admin/", f"/admin/cases/case/{s.led.pk}/change/",
                        "/admin/cases/petitioner/", f"/admin/cases/petitioner/{s.person.pk}/change/",
                        "/admin/cases/case/?q=" + s.led.number],
    "login": lambda s: ["/accounts/login/"],
    "logout": lambda s: [],  # POST only, signs out: nothing to show
    "set_language": lambda s: [],  # POST only, a redirect
    "home": lambda s: ["/"],
    "cases:list": lambda s: ["/cases/?figure=open", "/cases/?figure=in_handling",
                             f"/cases/?figure=open&q={s.led.number}"],
    "cases:notifications": lambda s: ["/cases/notifications/"],
    # The form only: its results are searched by POST (test_search_tells_no_one_more).
    "intake:search": lambda s: ["/search/"],
    "cases:save_view": lambda s: [],  # POST only, a redirect
    "dispatch:discuss": lambda s: [],  # POST only, back to the case page (its panel is read there)
    "cases:delete_view": lambda s: [],  # POST only, a redirect
    "cases:open_notification": lambda s: [reverse("cases:open_notification",
                                                  args=[n]) for n in s.notifications],
    "cases:detail": per_case("cases:detail"),
    "cases:act": lambda s: [reverse("cases:act", args=[case.number, act.name])
                            for case in s.cases for act in all_acts()],
    "cases:reveal": per_case("cases:reveal"),
    "cases:attachment": lambda s: [reverse("cases:attachment", args=[s.led.number, pk])
                                   for pk in s.attachments],
    "cases:attachment_preview": lambda s: [
        reverse("cases:attachment_preview", args=[s.led.number, pk]) for pk in s.attachments],
    "intake:register": lambda s: ["/intake/register/"],
    "intake:queue": lambda s: ["/intake/queue/"],
    "intake:lookup": lambda s: ["/intake/lookup/"],
    "intake:suggest": lambda s: ["/intake/suggest/"],
    "intake:reissue_query_code": lambda s: [reverse("intake:reissue_query_code")],
    "intake:document": lambda s: [reverse("intake:document", args=[case.number, kind])
                                  for case in s.cases for kind in
                                  ("registration_form", "acceptance_notice", "refusal_notice")],
    "intake:public_submit": lambda s: ["/public/submit/"],
    "intake:public_track": lambda s: ["/public/track/"],
    "dispatch:desk": lambda s: ["/dispatch/desk/"],
    "dispatch:dispatch": per_case("dispatch:dispatch"),
    "dispatch:refuse_return": per_case("dispatch:refuse_return"),
    "dispatch:inbox": lambda s: ["/dispatch/inbox/", "/dispatch/inbox/?scope=assisting"],
    "dispatch:reviews": lambda s: ["/dispatch/reviews/"],
    "dispatch:supervision": lambda s: ["/dispatch/supervision/"],
    "dispatch:decide_extension": lambda s: [reverse("dispatch:decide_extension",
                                                    args=[s.extension])],
    "dispatch:instruct": per_case("dispatch:instruct"),
    "dispatch:handle": per_case("dispatch:handle"),
    "dispatch:slip": per_case("dispatch:slip"),
    "dispatch:extension_notice": lambda s: [reverse("dispatch:extension_notice",
                                                    args=s.approved_extension)],
    "dispatch:attach": per_case("dispatch:attach"),
    "dispatch:note": per_case("dispatch:note"),
    "dispatch:extension": per_case("dispatch:extension"),
    "dispatch:result": per_case("dispatch:result"),
    "dispatch:review": per_case("dispatch:review"),
    "dispatch:take": per_case("dispatch:take"),
    "dispatch:assign": per_case("dispatch:assign"),
    "feedback:public_rate": lambda s: ["/public/rate/"],
    "feedback:desk": lambda s: ["/feedback/"],
    "feedback:reply": per_case("feedback:reply"),
    "feedback:visit": per_case("feedback:visit"),
    "feedback:archive_browser": lambda s: ["/feedback/archive/"],
    "feedback:archive": per_case("feedback:archive"),
    "feedback:dossier": per_case("feedback:dossier"),
    "feedback:reply_letter": per_case("feedback:reply_letter"),
    "oversight:dashboard": lambda s: ["/oversight/", "/oversight/?export=xlsx",
                                      "/oversight/?export=csv"],
    "oversight:drilldown": lambda s: [
        "/oversight/cases/", f"/oversight/cases/?petitioner={s.person.pk}",
        f"/oversight/cases/?petitioner={s.person.pk}&export=xlsx",
        f"/oversight/cases/?petitioner={s.person.pk}&export=csv"],
    "oversight:hot": lambda s: ["/oversight/hot/", "/oversight/hot/?export=xlsx&table=repeaters"],
    "oversight:access_log": lambda s: ["/oversight/access-log/",
                                       "/oversight/access-log/?export=csv"],
    "oversight:reports": lambda s: ["/oversight/reports/"],
    "oversight:report_pdf": lambda s: [],  # the month's figures, no case and no person
    "oversight:orders": lambda s: ["/oversight/supervision/",
                                   "/oversight/supervision/?export=xlsx"],
    "oversight:order": lambda s: [reverse("oversight:order", args=[s.order])],
    "oversight:order_pdf": lambda s: [reverse("oversight:order_pdf", args=[s.order])],
    # Staff complained about and appeals: no petitioner's identity on either page.
    "oversight:complaints": lambda s: ["/oversight/complaints/",
                                       "/oversight/complaints/?export=xlsx&table=repeated"],
    "oversight:appeals": lambda s: ["/oversight/appeals/"],
    # Exports made by a job: each person asks for the others' jobs too (not theirs: 404).
    "oversight:my_exports": lambda s: ["/oversight/exports/"],
    "oversight:export_start": lambda s: [],  # POST only: asks for a job
    "oversight:export_job": lambda s: [reverse("oversight:export_job", args=[job])
                                       for job in export_jobs_of(s)],
    "oversight:export_status": lambda s: [reverse("oversight:export_status", args=[job])
                                          for job in export_jobs_of(s)],
    "oversight:export_download": lambda s: [reverse("oversight:export_download", args=[job])
                                            for job in export_jobs_of(s)],
    "oversight:decide_appeal": lambda s: [],  # POST only: a supervisor's decision
    "api-cases": lambda s: ["/api/v1/cases/"],
    "api-case": per_case("api-case"),
    "api-transition": lambda s: [reverse("api-transition", args=[s.led.number, "dispatch"])],
    "api-categories": lambda s: ["/api/v1/categories/"],
    "api-departments": lambda s: ["/api/v1/departments/"],
    "api-schema": lambda s: ["/api/v1/schema/"],
    "api-docs": lambda s: ["/api/v1/docs/"],
    "api-not-found": lambda s: ["/api/v1/no-such-door/"],
}
# Where the office sees the values in full by design: documents for the petitioner and
# the file, and the return visit's phone call (each read is recorded).
OFFICE_FULL = ("intake:document", "feedback:dossier", "feedback:reply_letter",
               "feedback:visit", "admin", "cases:attachment", "dispatch:extension_notice")


def export_jobs_of(s) -> list[int]:
    """Export jobs made once per scene by the task, as the office and a department ask
    for them: the person's cases and the repeat petitioners (the office), the cases and
    the orders of department A (its head and its handler)."""
    if not hasattr(s, "export_jobs"):
        from oversight import export_jobs
        from oversight.tasks import make_export

        s.export_jobs = []
        for actor, kind, params in (
                (s.world.supervisor, "cases", {"petitioner": [str(s.person.pk)]}),
                (s.world.supervisor, "hot", {"table": ["repeaters"]}),
                (s.world.head, "cases", {}), (s.world.handler, "orders", {"status": ["all"]})):
            job = export_jobs.start_export(actor=actor, kind=kind, file_format="xlsx",
                                           params=params)
            assert make_export(job.pk) == "done"
            s.export_jobs.append(job.pk)
    return s.export_jobs


def test_every_door_has_an_entry():
    names = {name for name, _route in walk(get_resolver().url_patterns)}
    missing = names - set(DOORS)
    assert not missing, f"doors with no entry in the identity matrix: {sorted(missing)}"


class Scene:
    pass


@pytest.fixture
def scene(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    world = build_world()
    person = Petitioner.objects.create(
        name=NAME, phone=PHONE, phone_alt=PHONE_ALT, id_number=ID_NUMBER,
        address=ADDRESS, email=EMAIL, wants_confidentiality=True)
    world.petitioner = person
    led = drive_to(world, State.IN_HANDLING)
    led.is_confidential = True
    led.save(update_fields=["is_confidential"])
    led.assisting_departments.add(world.b)
    replied = drive_to(world, State.IN_HANDLING)
    replied.is_confidential = True
    replied.save(update_fields=["is_confidential"])
    reply_from_handling(world, replied)
    # The same person's other case, not marked: confidential towards departments too.
    other = drive_to(world, State.IN_HANDLING)
    # The petitioner's own words carry who they are: the complaint signed with a name and
    # a phone written with spaces, and a follow-up e-mail with a signature block.
    from cases.services import record_event

    signed = (f"路灯不亮已有两周。\n反映人：{NAME}，电话 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}，"
              f"备用 {PHONE_ALT}，住{ADDRESS}，身份证 {ID_NUMBER}，邮箱 {EMAIL.upper()}")
    for case in (led, replied, other):
        Case.objects.filter(pk=case.pk).update(content=signed)
        record_event(case, actor=None, action="email_received",
                     note=f"主题：补充情况\n又坏了一盏。\n--\n{NAME}\n{PHONE}\n{EMAIL}")
    from django.core.files.base import ContentFile

    from cases.documents import render_pdf

    letter = render_pdf("intake/documents/registration_form.html", {
        "case": led, "title": "举报信", "person": person, "show_identity": True, "text_mask": None})
    scan = Attachment.objects.create(case=led, kind=AttachmentKind.INTAKE,
                                     file=ContentFile(letter, name="letter.pdf"),
                                     original_name="举报信.pdf", content_type="application/pdf",
                                     size=len(letter))
    led.refresh_from_db()
    dispatch_acts.request_extension(actor=world.handler, case_id=led.pk, reason="需要现场勘验",
                                    requested_due_at=led.due_at + timedelta(days=3))
    # An approved extension, told to the petitioner (the 延期告知书 prints for it).
    other.refresh_from_db()
    approved = dispatch_acts.request_extension(
        actor=world.handler, case_id=other.pk, reason="需要现场勘验",
        requested_due_at=other.due_at + timedelta(days=3))
    dispatch_acts.approve_extension(actor=world.supervisor, request_id=approved.pk)
    order = SupervisionOrder.objects.create(case=led, level=1,
                                            answer_due_at=timezone.now() + timedelta(days=1))
    s = Scene()
    s.world, s.person, s.led, s.replied, s.other = world, person, led, replied, other
    s.cases = [led, replied, other]
    s.attachments = [scan.pk]
    s.extension = led.extension_requests.get().pk
    s.approved_extension = [other.number, approved.pk]
    s.order = order.pk
    s.notifications = list(Notification.objects.values_list("pk", flat=True)[:20])
    return s


def text_of(response) -> str:
    content_type = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if content_type.startswith("application/pdf"):
        done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=body,
                              capture_output=True, timeout=60)
        return done.stdout.decode("utf-8", "replace")
    if "spreadsheetml" in content_type:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets
                         for row in sheet.iter_rows(values_only=True) for cell in row
                         if cell is not None)
    return body.decode("utf-8", "replace")


def forbidden_for(person_name: str, door: str) -> list[str]:
    if person_name in DEPARTMENT_PEOPLE:
        return [NAME, PHONE, PHONE_ALT, ID_NUMBER, ADDRESS, EMAIL, mask_phone(PHONE),
                mask_id_number(ID_NUMBER), ADDRESS[:4], "secret.person"]
    if door in OFFICE_FULL:
        return []
    return [PHONE, PHONE_ALT, ID_NUMBER, ADDRESS, EMAIL]


@pytest.mark.parametrize("who", DEPARTMENT_PEOPLE + OFFICE_PEOPLE)
def test_no_door_tells_a_department_who_complained(scene, client, who):
    user = getattr(scene.world, who)
    client.force_login(user)
    leaks = []
    for door, urls in DOORS.items():
        bad = forbidden_for(who, door)
        if not bad:
            continue
        for url in urls(scene):
            response = client.get(url)
            assert response.status_code != 500, url
            text = text_of(response)
            leaks += [f"{url}: {value}" for value in bad if value in text]
    assert not leaks, f"{who} reads the confidential petitioner at: {leaks}"


def test_the_office_sees_masked_values_and_a_reveal_is_recorded(scene, client):
    from cases.models import PersonalDataAccess

    client.force_login(scene.world.clerk)
    page = client.get(reverse("cases:detail", args=[scene.led.number])).content.decode()
    assert NAME in page and mask_phone(PHONE) in page and PHONE not in page
    assert mask_id_number(ID_NUMBER) in page and ID_NUMBER not in page
    assert "显示完整信息" in page
    response = client.post(reverse("cases:reveal", args=[scene.led.number]))
    assert response.status_code == 302
    page = client.get(reverse("cases:detail", args=[scene.led.number])).content.decode()
    assert PHONE in page and ID_NUMBER in page and ADDRESS in page
    kinds = list(PersonalDataAccess.objects.filter(case=scene.led).values_list("kind", flat=True))
    assert "reveal" in kinds and kinds.count("case") == 2
    row = PersonalDataAccess.objects.get(kind="reveal")
    assert row.username == "clerk" and row.address == "127.0.0.1"
    assert PHONE not in str(vars(row)) and ID_NUMBER not in str(vars(row))


def test_a_department_may_not_reveal(scene, client):
    client.force_login(scene.world.handler)
    response = client.post(reverse("cases:reveal", args=[scene.led.number]))
    assert response.status_code in (403, 404)


def test_the_lead_department_of_a_plain_case_sees_contact_details_and_a_masked_id(db, client):
    world = build_world()
    world.petitioner.id_number = valid_id("11010519800202456")
    world.petitioner.save()
    case = drive_to(world, State.IN_HANDLING)
    client.force_login(world.handler)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert world.petitioner.name in page and world.petitioner.phone in page
    assert world.petitioner.id_number not in page
    assert mask_id_number(world.petitioner.id_number) in page
    case.assisting_departments.add(world.b)
    client.force_login(world.handler_b)
    page = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert world.petitioner.name not in page and world.petitioner.phone not in page


def test_the_scanned_letter_is_withheld_from_departments_and_the_page_says_so(scene, client):
    client.force_login(scene.world.handler)
    url = reverse("cases:attachment", args=[scene.led.number, scene.attachments[0]])
    assert client.get(url).status_code == 404
    page = client.get(reverse("cases:detail", args=[scene.led.number])).content.decode()
    assert "举报信.pdf" not in page and "不向部门提供" in page
    client.force_login(scene.world.clerk)
    response = client.get(url)
    assert response.status_code == 200
    assert "sandbox" in response["Content-Security-Policy"]


def test_the_access_log_is_append_only_on_postgresql(scene, postgres_only):
    from django.db import DatabaseError, transaction

    from cases.audit import record_access
    from cases.models import PersonalDataAccess

    row = record_access(None, scene.led, "case", user=scene.world.clerk)
    with pytest.raises(DatabaseError), transaction.atomic():
        PersonalDataAccess.objects.filter(pk=row.pk).update(username="someone")
    with pytest.raises(DatabaseError), transaction.atomic():
        PersonalDataAccess.objects.filter(pk=row.pk).delete()
    assert PersonalDataAccess.objects.get(pk=row.pk).username == "clerk"


def test_a_department_cannot_list_or_count_a_persons_cases(scene, client):
    import re

    def numbers(url):
        return set(re.findall(r"XF-\d{4}-\d+", client.get(url).content.decode()))

    client.force_login(scene.world.head)
    # The filter by person is ignored for a department: the same list as without it.
    assert numbers(f"/oversight/cases/?petitioner={scene.person.pk}") == numbers(
        "/oversight/cases/")
    detail = client.get(reverse("cases:detail", args=[scene.other.number])).content.decode()
    assert "该信访人共反映" not in detail
    client.force_login(scene.world.supervisor)
    assert numbers(f"/oversight/cases/?petitioner={scene.person.pk}") == {
        case.number for case in scene.cases}


def test_the_office_shares_a_redacted_copy_and_the_department_gets_only_that(scene, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.models import Attachment

    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
           b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
           b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
    client.force_login(scene.world.dispatcher)
    url = reverse("cases:act", args=[scene.led.number, "share_attachment"])
    response = client.post(url, {"attachment": scene.attachments[0],
                                 "redacted": SimpleUploadedFile("举报信-脱敏.png", png, "image/png")})
    assert response.status_code == 302, response.content.decode()[:2000]
    copy = Attachment.objects.get(redacts_id=scene.attachments[0])
    assert copy.cleared_for_departments
    client.force_login(scene.world.handler_b)
    page = client.get(reverse("cases:detail", args=[scene.led.number])).content.decode()
    assert "举报信-脱敏.png" in page and "举报信.pdf" not in page
    assert client.get(reverse("cases:attachment", args=[scene.led.number, copy.pk])).status_code == 200
    assert client.get(reverse("cases:attachment", args=[
        scene.led.number, scene.attachments[0]])).status_code == 404
    assert scene.led.events.filter(action="share_attachment").exists()
    client.force_login(scene.world.handler)
    assert client.post(url, {"attachment": scene.attachments[0]}).status_code in (403, 409)


def test_supervisors_browse_and_export_the_access_log_departments_do_not(scene, client):
    client.force_login(scene.world.clerk)
    client.get(reverse("cases:detail", args=[scene.led.number]))
    client.force_login(scene.world.supervisor)
    page = client.get(f"/oversight/access-log/?case={scene.led.number}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "clerk" in text and scene.led.number in text and "查看案件" in text
    exported = client.get(f"/oversight/access-log/?case={scene.led.number}&export=csv")
    assert exported.status_code == 200 and "clerk" in exported.content.decode("utf-8-sig")
    assert client.get("/oversight/access-log/?start=not-a-date").status_code == 400
    for who in ("handler", "head", "clerk", "dispatcher"):
        client.force_login(getattr(scene.world, who))
        assert client.get("/oversight/access-log/").status_code in (302, 403)


@pytest.mark.parametrize("who", DEPARTMENT_PEOPLE + OFFICE_PEOPLE)
def test_search_tells_no_one_more(scene, client, who):
    """找案件 is a door too: by the name, the phone, the number and the words of the
    confidential petitioner's cases, no result page shows more than the policy allows,
    and a department finds no case by the person at all."""
    client.force_login(getattr(scene.world, who))
    bad = forbidden_for(who, "intake:search")
    leaks, found_by_person = [], []
    for term in (NAME, PHONE, PHONE_ALT, scene.led.number, "路灯", ADDRESS[:4]):
        response = client.post(reverse("intake:search"), {"q": term, "kind": "auto"})
        assert response.status_code == 302, term
        page = client.get(response.url)
        assert page.status_code == 200
        # The page repeats what the person typed (the heading, the box): not a leak.
        text = page.content.decode().replace(term, "")
        leaks += [f"{term}: {value}" for value in bad if value in text]
        if term in (NAME, PHONE, PHONE_ALT) and page.context["rows"]:
            found_by_person.append(term)
    assert not leaks, f"{who} reads the confidential petitioner in search results: {leaks}"
    if who in DEPARTMENT_PEOPLE:
        assert not found_by_person, f"{who} finds cases by the person: {found_by_person}"
