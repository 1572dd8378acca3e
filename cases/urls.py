from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:notification_id>/", views.open_notification,
         name="open_notification"),
    path("<str:number>/", views.case_detail, name="detail"),
    path("<str:number>/acts/<str:name>/", views.act, name="act"),
    path("<str:number>/reveal/", views.reveal, name="reveal"),
    path("<str:number>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
