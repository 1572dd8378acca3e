"""The department inbox: its cases only, earliest due first, filters, counts, pages."""

from datetime import timedelta

import pytest
from django.urls import reverse

from cases.models import Case, State
from dispatch import selectors
from dispatch.selectors import InboxFilters
from dispatch import services as dispatch_acts
from tests.factories import drive_to


def dispatched(world, n):
    return [drive_to(world, State.DISPATCHED) for _ in range(n)]


def test_the_inbox_holds_only_the_department_s_cases_earliest_due_first(world):
    cases = dispatched(world, 3)
    Case.objects.filter(pk=cases[2].pk).update(due_at=cases[0].due_at - timedelta(hours=5))
    page = selectors.department_inbox(world.handler, world.a, InboxFilters())
    assert [c.pk for c in page.rows] == [cases[2].pk, cases[0].pk, cases[1].pk]
    assert selectors.department_inbox(world.handler_b, world.b, InboxFilters()).rows == []


def test_filters_and_their_counts(world, travel):
    first, second, third = dispatched(world, 3)
    Case.objects.filter(pk=first.pk).update(due_at=first.due_at - timedelta(days=30))  # overdue
    Case.objects.filter(pk=second.pk).update(due_at=travel_now() + timedelta(hours=3))  # soon

    dispatch_acts.department_accept_case(actor=world.handler, case_id=third.pk)
    page = selectors.department_inbox(world.handler, world.a, InboxFilters())
    assert (page.counts["total"], page.counts["overdue"], page.counts["due_soon"]) == (3, 1, 1)
    assert (page.counts["state_dispatched"], page.counts["state_in_handling"]) == (2, 1)
    assert page.counts["mine"] == 1 and page.counts["tier_T3"] == 3
    assert [c.urgency for c in page.rows] == ["overdue", "due_soon", "on_time"]
    only = lambda **f: [c.pk for c in selectors.department_inbox(  # noqa: E731
        world.handler, world.a, InboxFilters(**f)).rows]
    assert only(overdue=True) == [first.pk]
    assert only(due_soon=True) == [second.pk]
    assert only(state="in_handling") == only(mine=True) == [third.pk]
    assert only(tier="T1") == []


def travel_now():
    from django.utils import timezone

    return timezone.now()


def test_pages_by_key_reach_every_case_once(world, settings):
    import dispatch.selectors as module

    cases = dispatched(world, 7)
    original, module.PAGE_SIZE = module.PAGE_SIZE, 3
    try:
        seen, cursor = [], ""
        while True:
            page = selectors.department_inbox(world.handler, world.a, InboxFilters(), after=cursor)
            seen += [c.pk for c in page.rows]
            if page.is_last:
                break
            cursor = page.next_cursor
        last = selectors.department_inbox(world.handler, world.a, InboxFilters(), last=True)
    finally:
        module.PAGE_SIZE = original
    assert sorted(seen) == sorted(c.pk for c in cases) and len(seen) == 7
    assert [c.pk for c in last.rows] == seen[-3:]


def test_the_inbox_page_reads_in_a_fixed_number_of_queries(client, world,
                                                          django_assert_max_num_queries):
    dispatched(world, 8)
    client.force_login(world.head)
    with django_assert_max_num_queries(15):  # 12 + the 督办单 badge + the clocks' calendar + saved views
        response = client.get(reverse("dispatch:inbox"))
    assert response.status_code == 200 and response.content.decode().count("urgency-") == 8


def test_handlers_take_cases_and_heads_assign_them(client, world):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.handler)
    client.post(reverse("dispatch:take", args=[case.number]))
    assert Case.objects.get(pk=case.pk).state == State.IN_HANDLING
    client.force_login(world.head)
    world.a.members.add(world.head)
    response = client.post(reverse("dispatch:assign", args=[case.number]),
                           {"handler": world.head.pk}, follow=True)
    assert Case.objects.get(pk=case.pk).handler == world.head
    assert "已分派" in response.content.decode()


def test_another_department_cannot_take_the_case(client, world):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.handler_b)
    assert client.post(reverse("dispatch:take", args=[case.number])).status_code == 404
    assert Case.objects.get(pk=case.pk).state == State.DISPATCHED


def test_a_clerk_has_no_inbox(client, world):
    client.force_login(world.clerk)
    assert client.get(reverse("dispatch:inbox")).status_code == 403


def test_the_category_and_handler_filters_on_the_page(client, world):
    from tests.factories import CategoryFactory

    mine = drive_to(world, State.DISPATCHED)
    other = drive_to(world, State.DISPATCHED)
    Case.objects.filter(pk=other.pk).update(category=CategoryFactory(name="其他分类"))
    dispatch_acts.assign_handler(actor=world.head, case_id=mine.pk, handler=world.handler.pk)
    client.force_login(world.head)
    by_handler = client.get(reverse("dispatch:inbox"), {"handler": world.handler.pk})
    assert [c.pk for c in by_handler.context["page"].rows] == [mine.pk]
    by_category = client.get(reverse("dispatch:inbox"), {"category": world.category.pk})
    assert [c.pk for c in by_category.context["page"].rows] == [mine.pk]


@pytest.mark.parametrize("after", ["1e20_1", "inf_1", "1_99999999999999999999", "x_y",
                                   "-_1"])
def test_a_bad_inbox_cursor_gives_the_first_page(client, world, after):
    drive_to(world, State.DISPATCHED)
    client.force_login(world.handler)
    response = client.get(reverse("dispatch:inbox"), {"after": after})
    assert response.status_code == 200 and len(response.context["page"].rows) == 1


def test_a_nul_in_the_inbox_cursor_is_refused_at_the_edge(client, world):
    client.force_login(world.handler)
    response = client.get(reverse("dispatch:inbox"), {"after": "1\x00_1"})
    assert response.status_code == 400 and "“after”" in response.content.decode()


def test_a_row_shows_its_case_escaped_with_the_buttons_the_table_of_acts_offers(client, world):
    taken, waiting = drive_to(world, State.DISPATCHED), drive_to(world, State.DISPATCHED)
    Case.objects.filter(pk=taken.pk).update(summary='<b onclick="x()">夜市</b> & 噪音')
    dispatch_acts.department_accept_case(actor=world.handler, case_id=taken.pk)
    client.force_login(world.head)
    page = client.get(f"{reverse('dispatch:inbox')}?department={world.a.pk}&tier=")
    page = page.content.decode()
    row = next(part for part in page.split("<tr") if taken.number in part)
    assert "&lt;b onclick=&quot;x()&quot;&gt;夜市&lt;/b&gt; &amp; 噪音" in row
    assert "<b onclick" not in page
    assert "办理中" in row and "T3" in row and world.category.name in row
    assert world.handler.get_full_name() in row
    # The head assigns (the handler preselected), and takes no case in handling.
    assert f'<option value="{world.handler.pk}" selected>' in row
    assert reverse("dispatch:assign", args=[taken.number]) in row
    assert reverse("dispatch:take", args=[taken.number]) not in row
    # Back to this very page after an act, its address escaped.
    assert f'name="next" value="/dispatch/inbox/?department={world.a.pk}&amp;tier="' in row
    other = next(part for part in page.split("<tr") if waiting.number in part)
    assert reverse("dispatch:take", args=[waiting.number]) in other
    assert 'name="csrfmiddlewaretoken"' in other and "已交办" in other


@pytest.mark.parametrize("data", [{}, {"state": "in_handling", "tier": "T2"}, {"category": "x<"}])
def test_the_filters_written_in_python_are_django_s_own_markup(world, data):
    from django import forms

    from cases.models import Category
    from dispatch.forms import InboxFilterForm

    Category.objects.create(name='路灯 & "井盖" <维修>', parent=world.category.parent)
    world.head.first_name = "<张>"
    form = InboxFilterForm({**data, "category": data.get("category", world.category.pk),
                            "handler": world.head.pk}, staff=[world.head, world.handler])
    form.is_valid()
    for name in ("state", "tier", "category", "handler"):
        bound = form[name]
        attrs = bound.build_widget_attrs(bound.field.widget.attrs) | {"id": bound.auto_id}
        django_s = forms.Select.render(bound.field.widget, bound.html_name, bound.value(),
                                       attrs=attrs)
        assert str(bound) == str(django_s), name
    assert "&lt;维修&gt;" in str(form["category"]) and "selected" in str(form["handler"])
