from django.urls import path

from . import desk, handling, supervision, views

app_name = "dispatch"

urlpatterns = [
    path("desk/", desk.desk, name="desk"),
    path("cases/<str:number>/", desk.dispatch_case, name="dispatch"),
    path("cases/<str:number>/refuse-return/", desk.refuse_return, name="refuse_return"),
    path("inbox/", views.inbox, name="inbox"),
    path("reviews/", views.reviews, name="reviews"),
    path("supervision/", supervision.supervision, name="supervision"),
    path("extensions/<int:request_id>/decide/", supervision.decide_extension,
         name="decide_extension"),
    path("cases/<str:number>/instruct/", supervision.instruct, name="instruct"),
    path("cases/<str:number>/handle/", handling.handle, name="handle"),
    path("cases/<str:number>/slip.pdf", handling.slip, name="slip"),
    path("cases/<str:number>/attach/", handling.attach, name="attach"),
    path("cases/<str:number>/note/", handling.add_note, name="note"),
    path("cases/<str:number>/extension/", handling.request_extension, name="extension"),
    path("cases/<str:number>/result/", handling.submit_result, name="result"),
    path("cases/<str:number>/review/", handling.review, name="review"),
    path("cases/<str:number>/take/", views.take, name="take"),
    path("cases/<str:number>/assign/", views.assign, name="assign"),
]
