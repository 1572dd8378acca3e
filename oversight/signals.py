"""Reactions, in the same transaction, to what happens to cases: supervision orders close
with the reply, and every act queues the case for the figures."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from django_fsm.signals import post_transition

from cases.models import OPEN_STATES, Case, CaseEvent


@receiver(post_transition, sender=Case)
def close_orders_when_answered(sender, instance: Case, target, **kwargs) -> None:
    if target not in OPEN_STATES:
        from .services import close_orders_of

        close_orders_of(instance, now=timezone.now())


@receiver(post_save, sender=CaseEvent)
def count_the_case_again(sender, instance: CaseEvent, created: bool, **kwargs) -> None:
    """Every act leaves an event; the case's figures are queued in the same transaction."""
    if created:
        from .figures import mark_changed

        mark_changed([instance.case_id])
