from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("<str:number>/", views.case_detail, name="detail"),
    path("<str:number>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
