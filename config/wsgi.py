import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402

if settings.TRIAGE_WARM_AT_START:
    from intake.learning import warm  # noqa: E402

    warm()
