from django.urls import path

from . import views

app_name = "dispatch"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("cases/<str:number>/take/", views.take, name="take"),
    path("cases/<str:number>/assign/", views.assign, name="assign"),
]
