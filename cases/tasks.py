from celery import shared_task

from . import calendar


@shared_task(acks_late=True)
def sync_holiday_calendar() -> list[int]:
    """Copy into the calendar table any year the chinese-calendar package has learnt."""
    return calendar.import_package_years()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def send_deliveries() -> int:
    """Send what is due in the outbox (after an act's commit, and on the beat's sweep)."""
    from .services import send_deliveries as send

    return send()


@shared_task(acks_late=True)
def archive_rows() -> dict:
    """Nightly (a run every few minutes in the small hours): delete the notifications,
    outbox rows and case history the office no longer keeps, the history exported first.
    Each run stops within ARCHIVE_RUN_SECONDS; the next one goes on where it stopped."""
    from django.conf import settings

    from . import archive

    return archive.run(seconds=getattr(settings, "ARCHIVE_RUN_SECONDS", 420)).as_dict()
