from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Category, Delivery, Department, ReplyChannel


class ResponsibilityEntry(models.Model):
    """权责清单: a matter and the department responsible for it, in force between two
    dates. It outranks every learned suggestion and is shown as the reason. A matter is
    recognised by its words in what the petitioner says, or by its category."""

    matter = models.CharField(_("事项"), max_length=200)
    keywords = models.CharField(
        _("关键词"), max_length=300, blank=True,
        help_text=_("用空格分隔；摘要、内容或地点含任一关键词即属本事项。留空则按分类。"))
    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True,
                                 verbose_name=_("问题分类"),
                                 help_text=_("本事项所属分类；填写后该分类的案件都属本事项"))
    department = models.ForeignKey(Department, on_delete=models.CASCADE,
                                   verbose_name=_("责任部门"))
    version = models.CharField(_("清单版本"), max_length=50, blank=True,
                               help_text=_("如“2026年版”，显示在派单建议的理由中"))
    effective_from = models.DateField(_("生效日期"), default=timezone.localdate)
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)
    priority = models.PositiveSmallIntegerField(_("优先级"), default=100,
                                                help_text=_("数字小的先列出"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("权责清单事项")
        verbose_name_plural = _("权责清单")
        ordering = ["priority", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(category__isnull=True, keywords=""),
                                   name="responsibility_has_a_condition"),
        ]

    def __str__(self) -> str:
        return f"{self.matter} → {self.department}"

    @classmethod
    def in_force(cls, day):
        """The entries in force on `day`, each with `leaf_category` (its category has no
        subcategories, so a suggestion may name it), in one query."""
        from django.db.models import Exists, OuterRef

        return (cls.objects.filter(is_active=True, department__is_active=True,
                                   effective_from__lte=day)
                .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day))
                .annotate(leaf_category=~Exists(Category.objects.filter(
                    parent_id=OuterRef("category_id"))))
                .select_related("department", "category"))

    def matches(self, *, text: str, category_id: int | None, parent_id: int | None) -> bool:
        """Its words in the (normalised) text, or its category."""
        from intake.triage import normalize

        words = [normalize(word) for word in self.keywords.split()]
        if any(word and word in text for word in words):
            return True
        return bool(self.category_id and self.category_id in (category_id, parent_id))


class TriageStatus(models.TextChoices):
    SUGGESTED = "suggested", _("系统建议")
    CONFIRMED = "confirmed", _("已确认")
    CHANGED = "changed", _("已更改")


class TriageRecord(models.Model):
    """What triage suggested for a case that arrived without a category (API, portal,
    e-mail) and applied, and what the dispatcher then decided."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="triage",
                                verbose_name=_("案件"))
    category = models.ForeignKey(Category, on_delete=models.SET_NULL, null=True,
                                 related_name="+", verbose_name=_("建议分类"))
    tier = models.CharField(_("建议级别"), max_length=2)
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+", verbose_name=_("建议主办部门"))
    confidence = models.FloatField(_("置信度"), default=0)
    reasons = models.JSONField(_("理由"), default=list)
    status = models.CharField(_("状态"), max_length=20, choices=TriageStatus.choices,
                              default=TriageStatus.SUGGESTED)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("确认人"))
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    reason = models.TextField(_("更改理由"), blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("分诊建议")
        verbose_name_plural = _("分诊建议")

    def __str__(self) -> str:
        return f"{self.case} {self.category} {self.tier}"


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
    decision_note = models.TextField(_("审批意见"), blank=True,
                                     help_text=_("信访办内部意见，不告知信访人。"))
    # Asked when the round's approved extensions had reached the tier's limit: only a
    # supervisor decides it.
    beyond_limit = models.BooleanField(
        _("超出可延期次数"), default=False,
        help_text=_("本轮已获批的延期已达响应级别的可延期次数，须经督查人员批准。"))
    # How the petitioner was told of the approval, and the words they were told.
    told_channel = models.CharField(_("告知信访人方式"), max_length=20,
                                    choices=ReplyChannel.choices, blank=True)
    told_reason = models.TextField(_("告知信访人的延期理由"), blank=True)
    petitioner_notice = models.ForeignKey(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("告知信访人的消息"))
    platform_notice = models.ForeignKey(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("报送12345平台的消息"))

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


class CaseMessage(models.Model):
    """内部沟通: a message between the office and the departments on a case. Never shown
    to the public (no event, no tracking page, no document for the petitioner); read by the
    office's staff and the case's lead and assisting departments (dispatch.discussion)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages",
                             verbose_name=_("案件"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("发言人"))
    # The author's side when it was written: a department, or empty for the office.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("部门"))
    text = models.TextField(_("内容"))
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("内部沟通")
        verbose_name_plural = _("内部沟通")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_message_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.created_at:%Y-%m-%d %H:%M}"
