"""{% saved_views "inbox" %}: the person's saved views of a list page, and a form to save
the filters now on it (cases.saved_views)."""

from django import template

from cases import saved_views as views

register = template.Library()


@register.inclusion_tag("cases/_saved_views.html", takes_context=True)
def saved_views(context, page: str):
    request = context["request"]
    mine = views.views_for(request.user, page)
    try:
        query = views.clean_query(request.GET.urlencode())
    except Exception:  # noqa: BLE001 - a query string we would not save offers no saving
        query = ""
    return {
        "page": page, "query": query, "csrf_token": context.get("csrf_token"),
        "views": [{"view": view, "url": views.url_of(view),
                   "current": bool(query) and view.query == query} for view in mine],
    }
