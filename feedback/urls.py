from django.urls import path

from . import public

app_name = "feedback"

urlpatterns = [
    path("public/rate/", public.rate, name="public_rate"),
]
