from django.urls import path

import cases.converters  # noqa: F401  (registers <case:…>)

from . import desk, discussion, handling, supervision, views

app_name = "dispatch"

urlpatterns = [
    path("desk/", desk.desk, name="desk"),
    path("cases/<case:number>/", desk.dispatch_case, name="dispatch"),
    path("cases/<case:number>/refuse-return/", desk.refuse_return, name="refuse_return"),
    path("inbox/", views.inbox, name="inbox"),
    path("reviews/", views.reviews, name="reviews"),
    path("supervision/", supervision.supervision, name="supervision"),
    path("extensions/<int:request_id>/decide/", supervision.decide_extension,
         name="decide_extension"),
    path("cases/<case:number>/instruct/", supervision.instruct, name="instruct"),
    path("cases/<case:number>/handle/", handling.handle, name="handle"),
    path("cases/<case:number>/slip.pdf", handling.slip, name="slip"),
    path("cases/<case:number>/extensions/<int:request_id>/notice.pdf",
         handling.extension_notice, name="extension_notice"),
    path("cases/<case:number>/attach/", handling.attach, name="attach"),
    path("cases/<case:number>/note/", handling.add_note, name="note"),
    path("cases/<case:number>/discuss/", discussion.post, name="discuss"),
    path("cases/<case:number>/extension/", handling.request_extension, name="extension"),
    path("cases/<case:number>/result/", handling.submit_result, name="result"),
    path("cases/<case:number>/review/", handling.review, name="review"),
    path("cases/<case:number>/take/", views.take, name="take"),
    path("cases/<case:number>/assign/", views.assign, name="assign"),
]
