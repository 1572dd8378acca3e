from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Category, Department


class RoutingRule(models.Model):
    """Category and keywords → the department that should lead. Kept by administrators."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True,
                                 verbose_name=_("问题分类"),
                                 help_text=_("留空则对所有分类适用"))
    keywords = models.CharField(_("关键词"), max_length=200, blank=True,
                                help_text=_("用空格分隔，摘要、内容或地点含任一关键词即匹配；留空则只看分类"))
    department = models.ForeignKey(Department, on_delete=models.CASCADE, verbose_name=_("承办部门"))
    priority = models.PositiveSmallIntegerField(_("优先级"), default=100,
                                                help_text=_("数字小的先列出"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("派单规则")
        verbose_name_plural = _("派单规则")
        ordering = ["priority", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(category__isnull=True, keywords=""),
                                   name="routing_rule_has_a_condition"),
        ]

    def __str__(self) -> str:
        return f"{self.category or ''} {self.keywords} → {self.department}".strip()

    def matches(self, case: Case) -> bool:
        if self.category_id and self.category_id not in (case.category_id,
                                                         getattr(case.category, "parent_id", None)):
            return False
        words = self.keywords.split()
        if not words:
            return True
        text = f"{case.summary} {case.content} {case.place}"
        return any(word in text for word in words)


class NoteKind(models.TextChoices):
    INVESTIGATION = "investigation", _("调查核实")
    CONTACT = "contact", _("联系信访人")
    ASSIST = "assist", _("协办意见")


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("电话")
    VISIT = "visit", _("上门走访")
    MEETING = "meeting", _("约谈面谈")
    SMS = "sms", _("短信")
    OTHER = "other", _("其他")


class HandlingNote(models.Model):
    """What the department did: investigation notes, contacts with the petitioner, and
    the assisting departments' opinions to the lead."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handling_notes",
                             verbose_name=_("案件"))
    kind = models.CharField(_("类别"), max_length=20, choices=NoteKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("记录人"))
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("部门"))
    text = models.TextField(_("内容"))
    contact_method = models.CharField(_("联系方式"), max_length=20, choices=ContactMethod.choices,
                                      blank=True)
    reached = models.BooleanField(_("已联系上"), null=True, blank=True)
    happened_at = models.DateTimeField(_("时间"), default=timezone.now)
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["happened_at", "pk"]
        indexes = [models.Index(fields=["case", "happened_at"], name="handling_note_case_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()}"


class ExtensionState(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("未批准")


class ExtensionRequest(models.Model):
    """延期申请: asked before the deadline, decided by a supervisor."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extension_requests",
                             verbose_name=_("案件"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("申请人"))
    reason = models.TextField(_("延期理由"))
    requested_due_at = models.DateTimeField(_("申请延至"))
    original_due_at = models.DateTimeField(_("原期限"))
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    state = models.CharField(_("状态"), max_length=10, choices=ExtensionState.choices,
                             default=ExtensionState.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("审批人"))
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(state="pending"),
                                    name="one_pending_extension_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_state_display()}"


class HandlingResult(models.Model):
    """The department's written result: what was found, its opinion, the result."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handling_results",
                             verbose_name=_("案件"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("提交人"))
    findings = models.TextField(_("调查核实情况"))
    opinion = models.TextField(_("处理意见"))
    result = models.TextField(_("办理结果"))
    is_solved = models.BooleanField(_("问题已解决"))
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("办理结果")
        verbose_name_plural = _("办理结果")
        ordering = ["-submitted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.submitted_at:%Y-%m-%d}"
