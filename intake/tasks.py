from celery import shared_task
from django.utils import timezone

from . import learning


@shared_task(acks_late=True)
def retrain_triage() -> int | None:
    """Nightly, and on demand from the admin: a new triage model from the closed cases
    (taken only if it is not worse than the one in use). The new model's id."""
    try:
        return learning.train(now=timezone.now()).pk
    except learning.NothingToLearn:
        return None
