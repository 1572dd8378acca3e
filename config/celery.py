"""The Celery app. The beat schedule lives in settings (CELERY_BEAT_SCHEDULE)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("petitions")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_process_init.connect
def _warm(**_kwargs) -> None:
    """Each worker process loads the triage model before its first task."""
    from django.conf import settings

    if settings.TRIAGE_WARM_AT_START:
        from intake.learning import warm

        warm()
