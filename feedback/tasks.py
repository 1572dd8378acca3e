from celery import shared_task

from . import services


@shared_task(acks_late=True)
def email_reply(*, reply_id: int) -> bool:
    return services.email_reply_now(reply_id=reply_id)
