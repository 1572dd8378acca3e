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
