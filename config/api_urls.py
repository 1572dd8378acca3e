"""The JSON API under /api/v1/ (token authentication; tokens are managed in the admin)."""

from django.urls import path

from cases import api as case_api
from intake import api as intake_api

urlpatterns = [
    path("cases/", intake_api.register_case, name="api-cases"),
    path("cases/<str:number>/", intake_api.case_detail, name="api-case"),
    path("cases/<str:number>/transitions/<str:name>/", case_api.transition,
         name="api-transition"),
    path("categories/", case_api.categories, name="api-categories"),
    path("departments/", case_api.departments, name="api-departments"),
]
