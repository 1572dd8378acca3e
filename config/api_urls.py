"""The JSON API under /api/v1/ (platform keys and staff tokens, managed in the admin), its
OpenAPI schema and its docs page."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from cases import api as case_api
from intake import api as intake_api

from . import api_docs, api_sections

api_sections.register_all()

urlpatterns = [
    path("cases/", intake_api.cases, name="api-cases"),
    path("cases/<str:number>/", intake_api.case_detail, name="api-case"),
    path("cases/<str:number>/transitions/<str:name>/", case_api.transition,
         name="api-transition"),
    path("categories/", case_api.categories, name="api-categories"),
    path("departments/", case_api.departments, name="api-departments"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs.docs, name="api-docs"),
    re_path(r"^.*$", case_api.not_found, name="api-not-found"),
]
