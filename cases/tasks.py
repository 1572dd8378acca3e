from celery import shared_task

from . import calendar


@shared_task(acks_late=True)
def sync_holiday_calendar() -> list[int]:
    """Copy into the calendar table any year the chinese-calendar package has learnt."""
    return calendar.import_package_years()


@shared_task(acks_late=True)
def send_notification_emails(*, notification_ids: list[int]) -> int:
    """E-mail each notification once; a retry after a crash skips those already sent."""
    from .services import email_notifications

    return email_notifications(notification_ids=notification_ids)
