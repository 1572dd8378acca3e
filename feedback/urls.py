from django.urls import path

import cases.converters  # noqa: F401  (registers <case:…>)

from . import public, views

app_name = "feedback"

urlpatterns = [
    path("public/rate/", public.rate, name="public_rate"),
    path("feedback/", views.desk, name="desk"),
    path("feedback/cases/<case:number>/reply/", views.reply, name="reply"),
    path("feedback/cases/<case:number>/visit/", views.visit, name="visit"),
    path("feedback/archive/", views.archive_browser, name="archive_browser"),
    path("feedback/cases/<case:number>/archive/", views.archive, name="archive"),
    path("feedback/cases/<case:number>/dossier.pdf", views.dossier, name="dossier"),
    path("feedback/cases/<case:number>/reply-letter.pdf", views.reply_letter, name="reply_letter"),
]
