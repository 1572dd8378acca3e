"""Generated input to every form and filter finds no 500 (issue 16, item 2).

Each page below is opened as a person of the role that works it; its forms are read from
the page itself (action, method, fields), and Hypothesis fills the fields with generated
text: NUL, unicode digits (², ٣), huge numbers, odd cursors, dates at the edge of the
calendar, very long strings, or the value the page offered. Whatever comes back may be a
refusal (400, 403, 404, 409, a redirect, the form again), never a 5xx. Lone surrogates
cannot travel in a form (the client cannot encode them, nor can a browser): they go to
the JSON API, where they can.

Bounded to run in well under two minutes on two cores: few examples per page, one world
per test.
"""

import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import State
from dispatch import services as dispatch_acts
from tests.factories import drive_to, register

EXAMPLES = 12
RUN = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])

NASTY = st.sampled_from([
    "\x00", "a\x00b", "²", "٣", "٣٤", "-1", "0", "1", "9" * 25, "9" * 5000, "1e20", "inf",
    "nan", "inf_1", "1e20_1", "-_1", "9" * 17 + "_" + "9" * 18, "2026-13", "2026-00",
    "9999-12-31", "9999-12-31T23:59", "0001-01-01", "10000-01-01", "2026-02-30", " ",
    "x" * 6000, "<script>", "' OR 1=1 --", "%00", "XF-2026-000001", "\u202e", "😀" * 50,
])
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
VALUE = st.one_of(NASTY, TEXT)
# The query-string keys the pages read besides their forms' fields.
FILTER_KEYS = ["page", "after", "last", "department", "category", "tier", "year", "state",
               "handler", "channel", "status", "level", "open_tier", "measure", "by",
               "start", "end", "figure", "q", "s", "show", "kind", "export_", "month",
               "category_leaf", "petitioner", "place", "word", "number", "t"]


class FormReader(HTMLParser):
    """The forms of a page: [(action, method, {name: value})], file inputs left out."""

    def __init__(self):
        super().__init__()
        self.forms, self._select = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("action") or "", (attrs.get("method") or "get").lower(),
                               {}))
        elif not self.forms:
            return
        elif tag in ("input", "textarea", "button") and attrs.get("name"):
            if attrs.get("type") in ("file", "image"):
                return
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                self.forms[-1][2].setdefault(attrs["name"], attrs.get("value") or "")
                return
            self.forms[-1][2][attrs["name"]] = attrs.get("value") or ""
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self.forms[-1][2].setdefault(self._select, "")
        elif tag == "option" and self._select and not self.forms[-1][2][self._select]:
            self.forms[-1][2][self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def forms_of(client, path: str):
    response = client.get(path)
    assert response.status_code < 500, path
    reader = FormReader()
    reader.feed(response.content.decode())
    found = []
    for action, method, fields in reader.forms:
        target = urlsplit(action).path or urlsplit(path).path
        if target.startswith(("/accounts/logout", "/i18n/")):
            continue
        fields.pop("csrfmiddlewaretoken", None)
        found.append((target, method, fields))
    return found


def scene(world):
    """A case in each state a form works on, and who opens which page."""
    received = register(world)
    accepted = drive_to(world, State.ACCEPTED)
    dispatched = drive_to(world, State.DISPATCHED)
    handling = drive_to(world, State.IN_HANDLING)
    approved = drive_to(world, State.RESULT_SUBMITTED)
    dispatch_acts.approve_result(actor=world.head, case_id=approved.pk)
    dispatch_acts.approve_result(actor=world.dispatcher, case_id=approved.pk)
    replied = drive_to(world, State.REPLIED)
    return [
        (None, "/public/submit/"), (None, "/public/track/"), (None, "/public/rate/?t=x"),
        ("clerk", "/intake/register/"), ("clerk", "/intake/queue/"),
        *[("clerk", f"/cases/{received.number}/acts/{act}/")
          for act in ("accept", "answer_on_the_spot", "refuse", "merge", "withdraw")],
        ("clerk", f"/cases/{received.number}/"),
        ("dispatcher", "/dispatch/desk/"), ("dispatcher", f"/dispatch/cases/{accepted.number}/"),
        ("handler", "/dispatch/inbox/"), ("handler", f"/dispatch/cases/{dispatched.number}/handle/"),
        ("handler", f"/dispatch/cases/{handling.number}/handle/"),
        ("handler", f"/cases/{handling.number}/acts/request_extension/"),
        ("head", "/dispatch/reviews/"),
        ("dispatcher", f"/feedback/cases/{approved.number}/reply/"),
        ("clerk", f"/feedback/cases/{replied.number}/visit/"),
        ("dispatcher", "/feedback/"), ("dispatcher", "/feedback/archive/"),
        ("supervisor", "/oversight/"), ("supervisor", "/oversight/cases/"),
        ("supervisor", "/oversight/supervision/"), ("supervisor", "/oversight/reports/"),
        ("supervisor", "/oversight/access-log/"), ("supervisor", "/oversight/complaints/"),
        ("supervisor", "/oversight/hot/"), ("supervisor", "/oversight/appeals/"),
        ("supervisor", "/dispatch/supervision/"),
        ("dispatcher", "/cases/?figure=open"), ("dispatcher", "/cases/notifications/"),
    ]


def open_forms(client, world):
    """(user, target, method, fields) for every form of every page, and each page's own
    URL as a GET target for the filters."""
    targets = []
    for username, path in scene(world):
        if username:
            client.force_login(getattr(world, username))
        else:
            client.logout()
        for target, method, fields in forms_of(client, path):
            targets.append((username, target, method, fields))
        targets.append((username, urlsplit(path).path, "get", {key: "" for key in FILTER_KEYS}))
    return targets


def submit(client, world, username, target, method, data):
    if username:
        client.force_login(getattr(world, username))
    else:
        client.logout()
    send = client.post if method == "post" else client.get
    response = send(target, data)
    assert response.status_code < 500, (username, method, target, data)


@pytest.mark.django_db
def test_generated_values_in_any_form_field_or_filter_never_give_a_500(client, world):
    targets = open_forms(client, world)
    assert len(targets) > 40  # the pages' forms were found

    @RUN
    @given(index=st.integers(0, len(targets) - 1), fill=st.data())
    def attempt(index, fill):
        username, target, method, fields = targets[index]
        data = {name: fill.draw(st.one_of(st.just(value), VALUE), label=name)
                for name, value in fields.items()}
        submit(client, world, username, target, method, data)

    attempt()


@pytest.mark.django_db
def test_every_field_of_every_form_takes_each_nasty_value_without_a_500(client, world):
    """Not left to chance: each form once with every field NUL, once with ² (a digit to
    isdigit(), not to int()), once with a date past 9999."""
    for username, target, method, fields in open_forms(client, world):
        for nasty in ("\x00", "²", "9999-12-31T23:59"):
            submit(client, world, username, target, method,
                   {name: nasty for name in fields} or {"page": nasty})


@pytest.mark.django_db
@RUN
@given(body=st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(alphabet=st.characters(exclude_categories=()), max_size=10)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20))
def test_generated_json_bodies_to_the_api_never_give_a_500(client, world, body):
    client.force_login(world.clerk)
    text = json.dumps(body)  # lone surrogates travel as \\udxxx escapes
    response = client.post("/api/v1/cases/", text, content_type="application/json")
    assert response.status_code < 500, text
