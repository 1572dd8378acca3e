from django.urls import path

import cases.converters  # noqa: F401  (registers <case:…>)

from . import public, views

app_name = "intake"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("intake/register/", views.register, name="register"),
    path("intake/queue/", views.queue, name="queue"),
    path("intake/lookup/", views.lookup, name="lookup"),
    path("intake/suggest/", views.suggest, name="suggest"),
    path("intake/query-code/", views.reissue_query_code, name="reissue_query_code"),
    path("intake/cases/<case:number>/<str:kind>.pdf", views.document, name="document"),
    path("public/submit/", public.submit, name="public_submit"),
    path("public/track/", public.track, name="public_track"),
]
