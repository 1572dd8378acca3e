from django.urls import path

from . import views

app_name = "oversight"

urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("cases/", views.drilldown_page, name="drilldown"),
    path("supervision/", views.orders, name="orders"),
    path("supervision/<int:order_id>/", views.order, name="order"),
    path("supervision/<int:order_id>/order.pdf", views.order_pdf, name="order_pdf"),
]
