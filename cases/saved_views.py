"""保存的筛选: a person names the filters of a list page and opens them again in one click.

A saved view is the page's query string (its filters, its search), never its position in
the list (a cursor, a page number) nor a session's search id, so it opens at the top of
the list as it stands then. Each person has their own, per page, at most
SAVED_VIEWS_PER_PAGE of them; the page's own form still checks the filters when the view
is opened, so a view left behind by a change of the page shows that page's message, not
an error.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .models import SavedView

# The pages that keep views: key → URL name.
PAGES = {
    "inbox": "dispatch:inbox",
    "queue": "intake:queue",
    "drilldown": "oversight:drilldown",
    "list": "cases:list",
    "archive": "feedback:archive_browser",
}
SAVED_VIEWS_PER_PAGE = 30
# Where a list is, not what it shows: never saved.
POSITION_KEYS = {"after", "page", "last", "s", "csrfmiddlewaretoken", "next", "export"}


def clean_query(query: str) -> str:
    """The query string as saved: its filters, without position or blanks, re-encoded."""
    if any(ord(char) < 32 for char in query):
        raise ValidationError({"query": _("筛选条件含有不可见字符。")})
    params = QueryDict(query.lstrip("?"), mutable=True)
    for key in list(params):
        if key in POSITION_KEYS or not any(value.strip() for value in params.getlist(key)):
            del params[key]
    cleaned = params.urlencode()
    if len(cleaned) > SavedView._meta.get_field("query").max_length:
        raise ValidationError({"query": _("筛选条件太长，无法保存。")})
    return cleaned


def views_for(user, page: str) -> list[SavedView]:
    if not user.is_authenticated or page not in PAGES:
        return []
    return list(SavedView.objects.filter(owner=user, page=page))


def url_of(view: SavedView) -> str:
    path = reverse(PAGES[view.page])
    return f"{path}?{view.query}" if view.query else path


@transaction.atomic
def save_view(*, user, page: str, name: str, query: str) -> SavedView:
    """Save (or, under the same name, replace) the person's view of `page`."""
    if page not in PAGES:
        raise ValidationError({"page": _("这个页面不能保存筛选。")})
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("请给这个筛选起个名字。")})
    if len(name) > SavedView._meta.get_field("name").max_length or any(
            ord(char) < 32 for char in name):
        raise ValidationError({"name": _("名称最多 40 个字，且不能含不可见字符。")})
    query = clean_query(query)
    # The person's row locked first: two tabs saving at once count one after the other.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    mine = SavedView.objects.filter(owner=user, page=page)
    existing = mine.filter(name=name).first()
    if existing is not None:
        existing.query = query
        existing.save(update_fields=["query"])
        return existing
    if mine.count() >= SAVED_VIEWS_PER_PAGE:
        raise ValidationError({"name": _("每个页面最多保存 %(n)s 个筛选，请先删除不用的。")
                               % {"n": SAVED_VIEWS_PER_PAGE}})
    try:
        with transaction.atomic():
            return SavedView.objects.create(owner=user, page=page, name=name, query=query)
    except IntegrityError:  # the same name saved at the same moment in another tab
        view = SavedView.objects.get(owner=user, page=page, name=name)
        view.query = query
        view.save(update_fields=["query"])
        return view


@transaction.atomic
def delete_view(*, user, view_id: int) -> SavedView | None:
    """Delete one of the person's own views (another's is not found)."""
    view = SavedView.objects.filter(owner=user, pk=view_id).first()
    if view is not None:
        view.delete()
    return view
