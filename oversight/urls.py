from django.urls import path, re_path

from . import accountability_views, export_views, views

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
    path("complaints/", accountability_views.complaints_page, name="complaints"),
    path("appeals/", accountability_views.appeals_page, name="appeals"),
    path("appeals/<int:appeal_id>/decide/", accountability_views.decide_appeal,
         name="decide_appeal"),
    path("exports/", export_views.my_exports, name="my_exports"),
    path("exports/start/", export_views.start_export, name="export_start"),
    path("exports/<int:job_id>/", export_views.export_job, name="export_job"),
    path("exports/<int:job_id>/status/", export_views.export_status, name="export_status"),
    path("exports/<int:job_id>/download/", export_views.export_download,
         name="export_download"),
]
