from django.urls import path

import cases.converters  # noqa: F401  (registers <case:…>)

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("views/save/", views.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", views.delete_view, name="delete_view"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:notification_id>/", views.open_notification,
         name="open_notification"),
    path("<case:number>/", views.case_detail, name="detail"),
    path("<case:number>/acts/<str:name>/", views.act, name="act"),
    path("<case:number>/reveal/", views.reveal, name="reveal"),
    path("<case:number>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("<case:number>/attachments/<int:attachment_id>/preview.png", views.attachment_preview,
         name="attachment_preview"),
]
