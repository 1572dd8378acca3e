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


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def send_callbacks() -> int:
    """Post the platforms' due callbacks (after an act's commit, and on the beat's sweep)."""
    from .callbacks import send_callbacks as send

    return send()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def poll_mailbox() -> dict:
    """E-mail intake (beat, every INTAKE_IMAP_EVERY_SECONDS): the mailbox's new messages
    become cases or notes on their cases, each once however many workers poll; nothing
    when INTAKE_IMAP_URL is empty. A mail server that is away is logged and left for the
    next run. Answers the run's counts."""
    from . import mail

    return mail.poll_mailbox().as_data()


# A quarter's index over a city's case table may build for a while: beyond the default
# task time limits (another worker that gets it meanwhile leaves it to this one).
@shared_task(acks_late=True, soft_time_limit=4 * 3600, time_limit=4 * 3600 + 60)
def keep_search_indexes() -> dict:
    """Daily: the search by words' index for each quarter it reaches and the next one (made
    while still empty), the older ones dropped (intake.search_indexes)."""
    from . import search_indexes

    return search_indexes.keep()


@shared_task(acks_late=True)
def discard_staged_uploads() -> int:
    """Hourly: remove counter scans kept across a failed submit and never sent again."""
    from django.db import transaction
    from django.utils import timezone

    from .services import discard_stale_staged_uploads

    with transaction.atomic():
        return discard_stale_staged_uploads(now=timezone.now())
