from django.urls import path

from . import views

app_name = "oversight"

urlpatterns = [
    path("supervision/", views.orders, name="orders"),
    path("supervision/<int:order_id>/", views.order, name="order"),
    path("supervision/<int:order_id>/order.pdf", views.order_pdf, name="order_pdf"),
]
