"""保存的筛选 (issue 18, item 2): a person names the filters of a list page (the inbox, the
queue, a drill-down, a desk's list, the archive) and opens them again in one click."""

import pytest
from django.urls import reverse

from cases.models import SavedView
from cases.saved_views import SAVED_VIEWS_PER_PAGE


def save(client, page, name, query):
    return client.post(reverse("cases:save_view"), {"page": page, "name": name,
                                                    "query": query})


def test_a_handler_saves_the_inbox_filters_and_opens_them_again(client, world):
    client.force_login(world.handler)
    inbox = reverse("dispatch:inbox")
    # The page offers to save what is filtered now.
    page = client.get(inbox, {"state": "in_handling", "overdue": "1"}).content.decode()
    assert 'action="/cases/views/save/"' in page and 'value="state=in_handling&amp;overdue=1"' in page
    response = save(client, "inbox", "  我的超期件 ", "state=in_handling&overdue=1&after=abc&q=")
    # Saved without its position in the list or its blank fields, and opened at once.
    view = SavedView.objects.get()
    assert (view.owner, view.page, view.name, view.query) == (
        world.handler, "inbox", "我的超期件", "state=in_handling&overdue=1")
    assert response.status_code == 302 and response.url == inbox + "?state=in_handling&overdue=1"
    page = client.get(response.url).content.decode()
    assert 'aria-current="true">我的超期件</a>' in page
    # The same name again replaces it, it does not add another.
    save(client, "inbox", "我的超期件", "mine=1")
    assert SavedView.objects.get().query == "mine=1"


def test_views_are_each_person_s_own(client, world):
    client.force_login(world.handler)
    save(client, "inbox", "超期", "overdue=1")
    view = SavedView.objects.get()
    client.force_login(world.head)
    assert "超期</a>" not in client.get(reverse("dispatch:inbox")).content.decode()
    assert client.post(reverse("cases:delete_view", args=[view.pk])).status_code == 404
    client.force_login(world.handler)
    response = client.post(reverse("cases:delete_view", args=[view.pk]))
    assert response.status_code == 302 and not SavedView.objects.exists()
    assert client.get(reverse("cases:delete_view", args=[view.pk])).status_code == 405


@pytest.mark.parametrize(("data", "message"), [
    ({"page": "inbox", "name": "", "query": "overdue=1"}, "请给这个筛选起个名字。"),
    ({"page": "inbox", "name": "x" * 41, "query": "overdue=1"}, "名称最多 40 个字"),
    ({"page": "inbox", "name": "坏\x01名", "query": "overdue=1"}, "名称最多 40 个字"),
    ({"page": "inbox", "name": "坏", "query": "overdue=1\x07"}, "不可见字符"),
    ({"page": "inbox", "name": "长", "query": "q=" + "路" * 400}, "筛选条件太长"),
    ({"page": "nowhere", "name": "无", "query": "a=1"}, "这个页面不能保存筛选。"),
])
def test_bad_input_says_what_is_wrong_and_saves_nothing(client, world, data, message):
    client.force_login(world.handler)
    response = client.post(reverse("cases:save_view"), data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SavedView.objects.exists()


def test_a_nul_byte_is_refused_at_the_door(client, world):
    client.force_login(world.handler)
    for data in ({"page": "inbox", "name": "坏\x00名", "query": "a=1"},
                 {"page": "inbox", "name": "坏", "query": "a=1\x00"}):
        assert client.post(reverse("cases:save_view"), data).status_code == 400
    assert not SavedView.objects.exists()


def test_a_page_keeps_at_most_so_many_views(client, world):
    client.force_login(world.clerk)
    for n in range(SAVED_VIEWS_PER_PAGE):
        save(client, "queue", f"视图{n}", f"channel=web&n={n}")
    response = client.post(reverse("cases:save_view"), {"page": "queue", "name": "再一个",
                                                        "query": "channel=email"}, follow=True)
    assert "每个页面最多保存" in response.content.decode()
    assert SavedView.objects.count() == SAVED_VIEWS_PER_PAGE


@pytest.mark.parametrize(("who", "url", "page"), [
    ("clerk", "intake:queue", "queue"),
    ("supervisor", "oversight:drilldown", "drilldown"),
    ("supervisor", "feedback:archive_browser", "archive"),
    ("handler", "cases:list", "list"),
])
def test_each_list_page_offers_its_views(client, world, who, url, page):
    client.force_login(getattr(world, who))
    query = {"queue": "channel=web", "drilldown": "measure=accepted",
             "archive": "q=路灯", "list": "figure=open"}[page]
    save(client, page, "常用", query)
    html = client.get(f"{reverse(url)}?{query}").content.decode()
    assert 'id="saved-views"' in html and "常用</a>" in html
