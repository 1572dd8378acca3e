from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, EscalationStep


class Escalation(models.Model):
    """One step of the ladder taken for one case. Unique per case and step: however many
    sweeps run, each step happens once."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations",
                             verbose_name=_("案件"))
    step = models.CharField(_("环节"), max_length=10, choices=EscalationStep.choices)
    due_at = models.DateTimeField(_("当时的期限"))
    happened_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("督办环节")
        verbose_name_plural = _("督办环节")
        ordering = ["happened_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "step"],
                                               name="one_escalation_per_case_and_step")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_step_display()}"


class SupervisionOrder(models.Model):
    """督办单: opened when a case goes overdue (level 1) and again at level 2; the
    department answers it; it closes when the petitioner is answered."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervision_orders",
                             verbose_name=_("案件"))
    level = models.PositiveSmallIntegerField(_("级别"), choices=[(1, _("一级督办")),
                                                                (2, _("二级督办（通报）"))])
    opened_at = models.DateTimeField(_("督办时间"), default=timezone.now)
    answer_due_at = models.DateTimeField(_("部门反馈期限"))
    answer = models.TextField(_("部门反馈"), blank=True)
    answered_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("督办单")
        verbose_name_plural = _("督办单")
        ordering = ["-opened_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["case", "level"],
                                               name="one_supervision_order_per_level")]
        indexes = [models.Index(fields=["closed_at", "opened_at"], name="supervision_open_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_level_display()}"
