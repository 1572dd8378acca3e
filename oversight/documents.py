"""The supervision order (督办单) as a PDF: which case, how late, what the office asks."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from cases.documents import render_pdf

from .models import SupervisionOrder


def supervision_order_pdf(order: SupervisionOrder) -> tuple[str, bytes]:
    context = {"order": order, "case": order.case, "title": "督办单",
               "office_name": settings.OFFICE_NAME, "printed_at": timezone.localtime()}
    name = f"{order.case.number}-督办单-{order.level}.pdf"
    return name, render_pdf("oversight/documents/supervision_order.html", context)


def dossier_part(case):
    """The supervision orders of a case, for its archive dossier."""
    from django.template.loader import render_to_string

    orders = list(case.supervision_orders.select_related("answered_by").order_by("level"))
    if not orders:
        return None
    html = render_to_string("oversight/documents/_dossier_orders.html",
                            {"orders": orders, "case": case,
                             "office_name": settings.OFFICE_NAME})
    return "supervision", "督办单", html
