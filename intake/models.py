from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case


class IntakeSubmission(models.Model):
    """The one-time token of a registration form: the same form sent twice makes one case."""

    token = models.UUIDField(_("表单令牌"), unique=True)
    case = models.OneToOneField(Case, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="intake_submission", verbose_name=_("案件"))
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("登记提交")
        verbose_name_plural = _("登记提交")

    def __str__(self) -> str:
        return str(self.token)


class QueryCode(models.Model):
    """查询码: the random code that, with the case number, opens the public tracking page.

    Only a keyed hash is kept; the code itself is shown once to whoever registered the
    case (and sent to the petitioner). A new code replaces the old one.
    """

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True,
                                related_name="query_code_record", verbose_name=_("案件"))
    code_hash = models.CharField(_("查询码摘要"), max_length=64)
    issued_at = models.DateTimeField(_("生成时间"), default=timezone.now)

    class Meta:
        verbose_name = _("查询码")
        verbose_name_plural = _("查询码")

    def __str__(self) -> str:
        return str(self.case_id)


class SafetyKind(models.TextChoices):
    EMERGENCY = "emergency", _("紧急险情（T1）")
    OUTAGE = "outage", _("停水停电停气停暖（至少 T2）")


SAFETY_FLOORS = {SafetyKind.EMERGENCY: "T1", SafetyKind.OUTAGE: "T2"}


class SafetyPhrase(models.Model):
    """A phrase that, found in what a petitioner says, sets the least tier a case may
    have: a danger to life (gas, fire, someone trapped, …) is T1 and alerts the office at
    once; a utility outage is at least T2. Edited in the admin; read by intake.triage."""

    phrase = models.CharField(_("词语"), max_length=50, unique=True,
                              help_text=_("出现在摘要、内容或地点中即触发；不区分全角半角和大小写。"))
    kind = models.CharField(_("类别"), max_length=20, choices=SafetyKind.choices)
    is_active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("紧急与停供词语")
        verbose_name_plural = _("紧急与停供词语")
        ordering = ["kind", "phrase"]

    def __str__(self) -> str:
        return self.phrase

    @property
    def floor(self) -> str:
        return SAFETY_FLOORS[self.kind]
