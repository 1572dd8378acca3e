from django.urls import path, re_path

from . import views

app_name = "oversight"

urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("cases/", views.drilldown_page, name="drilldown"),
    path("hot/", views.hot_topics_page, name="hot"),
    path("access-log/", views.access_log, name="access_log"),
    path("reports/", views.reports, name="reports"),
    re_path(r"^reports/(?P<month>\d{4}-\d{2})\.pdf$", views.report_pdf, name="report_pdf"),
    path("supervision/", views.orders, name="orders"),
    path("supervision/<int:order_id>/", views.order, name="order"),
    path("supervision/<int:order_id>/order.pdf", views.order_pdf, name="order_pdf"),
]
