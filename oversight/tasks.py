from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True)
def sweep_deadlines() -> int:
    return services.sweep_deadlines(now=timezone.now())


@shared_task(acks_late=True)
def send_daily_digests() -> int:
    return services.send_daily_digests(now=timezone.now())


@shared_task(acks_late=True)
def refresh_figures() -> int:
    from .figures import refresh_figures as refresh

    return refresh()


@shared_task(acks_late=True)
def make_monthly_report() -> str:
    """Runs daily: the month before gets its report once (a missed first is caught up)."""
    from .reports import make_monthly_report as make

    return str(make().month)
