from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cases import views as case_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", case_views.home, name="home"),
    path("cases/", include("cases.urls")),
    path("", include("intake.urls")),
    path("dispatch/", include("dispatch.urls")),
    path("", include("feedback.urls")),
    path("oversight/", include("oversight.urls")),
    path("api/v1/", include("config.api_urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
