from django.urls import path

from . import desk, views

app_name = "dispatch"

urlpatterns = [
    path("desk/", desk.desk, name="desk"),
    path("cases/<str:number>/", desk.dispatch_case, name="dispatch"),
    path("cases/<str:number>/refuse-return/", desk.refuse_return, name="refuse_return"),
    path("inbox/", views.inbox, name="inbox"),
    path("cases/<str:number>/take/", views.take, name="take"),
    path("cases/<str:number>/assign/", views.assign, name="assign"),
]
