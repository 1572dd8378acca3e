from celery import shared_task

from . import calendar


@shared_task(acks_late=True)
def sync_holiday_calendar() -> list[int]:
    """Copy into the calendar table any year the chinese-calendar package has learnt."""
    return calendar.import_package_years()
