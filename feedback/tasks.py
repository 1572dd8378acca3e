from celery import shared_task
from django.utils import timezone

from . import retention


@shared_task(acks_late=True)
def anonymise_due() -> int:
    """Nightly: archived cases past their retention period are anonymised, once each."""
    return retention.anonymise_due(now=timezone.now())
