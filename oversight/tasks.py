from celery import shared_task
from django.conf import settings
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


# Everything counted again (after a change of definitions or a repair), in `workers`
# processes on the worker's machine. Acknowledged on receipt: a rebuild runs for hours at
# a city's scale, longer than the broker waits before handing an unacknowledged task to
# another worker; one lost with its worker is started again by hand. Its own time limit.
@shared_task(acks_late=False,
             soft_time_limit=getattr(settings, "FIGURES_REBUILD_TIME_LIMIT", 6 * 3600),
             time_limit=getattr(settings, "FIGURES_REBUILD_TIME_LIMIT", 6 * 3600) + 60)
def rebuild_figures(workers: int = 1) -> int:
    from .figures import rebuild_figures as rebuild

    return rebuild(workers=workers).counted


@shared_task(acks_late=True)
def make_monthly_report() -> str:
    """Runs daily: the month before gets its report once (a missed first is caught up)."""
    from .reports import make_monthly_report as make

    return str(make().month)


# Acknowledged late and safe to run twice: a second delivery finds the job finished, or
# held by a live attempt, and leaves it (oversight.export_jobs).
@shared_task(acks_late=True)
def make_export(job_id: int) -> str:
    from .export_jobs import make_export as make

    return make(job_id=job_id)


@shared_task(acks_late=True)
def keep_exports() -> dict:
    from .export_jobs import keep_exports as keep

    return keep(now=timezone.now())
