"""Reactions, in the same transaction, to what happens to cases: supervision orders close
when the case leaves the open states (the reply, or an end at intake)."""

from django.dispatch import receiver
from django.utils import timezone
from django_fsm.signals import post_transition

from cases.models import OPEN_STATES, Case


@receiver(post_transition, sender=Case)
def close_orders_when_answered(sender, instance: Case, target, **kwargs) -> None:
    if target not in OPEN_STATES:
        from .services import close_orders_of

        close_orders_of(instance, now=timezone.now())
