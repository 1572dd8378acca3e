"""The administrator's admin speaks Chinese: every section and table on the index, the
roles by their names (the codes stay what the program checks), and a person's
departments edited on their own page."""

import re
from html.parser import HTMLParser

from django.contrib.auth.models import Group
from django.urls import reverse

from cases.models import Department
from cases.roles import Role

CHINESE = re.compile(r"[\u4e00-\u9fff]")


class _Form(HTMLParser):
    """What a browser would post back from one form of a page, as it was shown."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.values = form_id, []
        self._in_form = False
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.values.append((name, attrs.get("value", "on")))
            else:
                self.values.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.values.append((self._select, attrs.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.append((name, ""))

    def handle_data(self, data):
        if self._textarea:
            name, text = self.values[-1]
            self.values[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def _form_values(client, url: str, form_id: str) -> dict:
    parser = _Form(form_id)
    parser.feed(client.get(url).content.decode())
    values: dict[str, list[str]] = {}
    for name, value in parser.values:
        values.setdefault(name, []).append(value)
    return values


def test_every_section_and_table_of_the_admin_index_is_named_in_chinese(client, world):
    client.force_login(world.admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    for app in response.context["app_list"]:
        assert CHINESE.search(str(app["name"])), app["app_label"]
        for model in app["models"]:
            assert CHINESE.search(str(model["name"])), (app["app_label"], model["object_name"])
    names = {app["app_label"]: str(app["name"]) for app in response.context["app_list"]}
    assert names["auth"] == "用户与角色"
    page = response.content.decode()
    for english in ("Authentication and Authorization", "Groups", "Model name",
                    "API Key Permissions", "Axes", "Access attempts"):
        assert english not in page


def test_the_roles_are_listed_by_their_chinese_names_and_keep_their_codes(client, world):
    client.force_login(world.admin)
    page = client.get(reverse("admin:auth_group_changelist")).content.decode()
    for role in Role:
        assert str(role.label) in page
    head = Group.objects.get(name=Role.DEPARTMENT_HEAD)
    change = client.get(reverse("admin:auth_group_change", args=[head.pk]))
    assert "部门负责人" in change.content.decode()
    assert "name" not in change.context["adminform"].form.fields  # the code is read-only
    assert not change.context["has_delete_permission"]


def test_the_user_list_shows_and_filters_by_role_and_department(client, world):
    client.force_login(world.admin)
    response = client.get(reverse("admin:auth_user_changelist"), {"role": Role.DISPATCHER})
    assert [user.username for user in response.context["cl"].result_list] == ["dispatcher"]
    page = response.content.decode()
    assert "派单员" in page and "部门负责人" in page  # the column and the filter
    by_department = client.get(reverse("admin:auth_user_changelist"),
                               {"department": str(world.a.pk)})
    assert {user.username for user in by_department.context["cl"].result_list} == {
        "handler", "head"}
    assert "城市管理局（负责人）" in by_department.content.decode()


def test_the_user_page_offers_the_roles_by_name(client, world):
    client.force_login(world.admin)
    response = client.get(reverse("admin:auth_user_change", args=[world.handler.pk]))
    groups = response.context["adminform"].form.fields["groups"]
    assert {label for _value, label in groups.choices} >= {str(role.label) for role in Role}
    assert str(groups.label) == "角色"
    assert "Control" not in str(groups.help_text)


def test_departments_are_given_on_the_user_page(client, world):
    client.force_login(world.admin)
    url = reverse("admin:auth_user_change", args=[world.handler_b.pk])
    data = _form_values(client, url, "user_form")
    members = next(name[:-len("-TOTAL_FORMS")] for name in data
                   if name.endswith("-TOTAL_FORMS") and "members" in name)
    heads = next(name[:-len("-TOTAL_FORMS")] for name in data
                 if name.endswith("-TOTAL_FORMS") and "heads" in name)
    rows = int(data[f"{members}-TOTAL_FORMS"][0])
    assert rows == 1  # 住房和城乡建设局
    data[f"{members}-TOTAL_FORMS"] = [str(rows + 1)]
    data[f"{members}-{rows}-department"] = [str(world.a.pk)]
    data[f"{heads}-TOTAL_FORMS"] = ["1"]
    data[f"{heads}-0-department"] = [str(world.office.pk)]
    data["_save"] = ["保存"]
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert set(world.handler_b.departments.all()) == {world.a, world.b}
    assert set(world.handler_b.headed_departments.all()) == {world.office}
    # The same department twice is told on the form, not as an error page.
    data = _form_values(client, url, "user_form")
    rows = int(data[f"{members}-TOTAL_FORMS"][0])
    data[f"{members}-TOTAL_FORMS"] = [str(rows + 1)]
    data[f"{members}-{rows}-department"] = [str(world.b.pk)]
    again = client.post(url, data)
    assert again.status_code == 200 and again.context["errors"]
    assert set(world.handler_b.departments.all()) == {world.a, world.b}


def test_the_member_pickers_say_how_they_work_in_chinese(client, world):
    client.force_login(world.admin)
    response = client.get(reverse("admin:cases_department_change", args=[world.a.pk]))
    fields = response.context["adminform"].form.fields
    for name in ("heads", "members"):
        assert "箭头" in str(fields[name].help_text)
        assert "Control" not in str(fields[name].help_text)
