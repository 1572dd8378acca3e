from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Category, Petitioner, ReplyChannel, Satisfaction


class Reply(models.Model):
    """答复: what the petitioner was told, how, and by whom."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="replies",
                             verbose_name=_("案件"))
    channel = models.CharField(_("答复方式"), max_length=20, choices=ReplyChannel.choices)
    content = models.TextField(_("答复意见"))
    next_steps = models.TextField(_("下一步工作"), blank=True)
    handling_unit = models.CharField(_("办理单位"), max_length=100)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("答复人"))
    sent_at = models.DateTimeField(_("答复时间"), default=timezone.now)

    class Meta:
        verbose_name = _("答复")
        verbose_name_plural = _("答复")
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_channel_display()}"

    @property
    def full_text(self) -> str:
        """What the petitioner reads: the reply, then the next steps where there are any."""
        if not self.next_steps:
            return self.content
        return f"{self.content}\n\n{_('下一步工作')}：{self.next_steps}"


class VisitMethod(models.TextChoices):
    PHONE = "phone", _("电话回访")
    VISIT = "visit", _("上门回访")
    SMS = "sms", _("短信回访")
    PUBLIC = "public", _("网上评价")


class ReturnVisit(models.Model):
    """回访: one attempt to hear the petitioner's verdict, reached or not."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="return_visits",
                             verbose_name=_("案件"))
    method = models.CharField(_("回访方式"), max_length=10, choices=VisitMethod.choices)
    reached = models.BooleanField(_("联系上信访人"))
    is_solved = models.BooleanField(_("问题已解决"), null=True, blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=20, choices=Satisfaction.choices,
                                    blank=True)
    comments = models.TextField(_("意见"), blank=True)
    visited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("回访人"))
    visited_at = models.DateTimeField(_("回访时间"), default=timezone.now)

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ["visited_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reached=False) | ~models.Q(satisfaction=""),
                name="a_reached_visit_has_a_verdict"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.visited_at:%Y-%m-%d}"


class RatingLinkUse(models.Model):
    """The petitioner's signed rating link for one reply, once it has been used: the link
    rates that reply once, and the visit it made is known to have come through it."""

    reply = models.OneToOneField(Reply, on_delete=models.CASCADE, primary_key=True,
                                 related_name="rating_link_use", verbose_name=_("答复"))
    visit = models.OneToOneField(ReturnVisit, on_delete=models.CASCADE,
                                 related_name="rating_link_use", verbose_name=_("回访"))
    used_at = models.DateTimeField(_("使用时间"), default=timezone.now)

    class Meta:
        verbose_name = _("评价链接使用记录")
        verbose_name_plural = _("评价链接使用记录")

    def __str__(self) -> str:
        return f"{self.reply_id}"


# ---------------------------------------------------------------- retention (PIPL Art. 19)
class RetentionRule(models.Model):
    """How long a category's personal data is kept after archiving, where it differs
    from RETENTION_YEARS. A subcategory without a rule of its own follows its parent's."""

    category = models.OneToOneField(Category, on_delete=models.CASCADE,
                                    related_name="retention_rule", verbose_name=_("问题分类"))
    years = models.PositiveSmallIntegerField(
        _("保存年限"), validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("自归档之日起计算；期满后信访人的个人信息被匿名化。"))
    reason = models.CharField(_("依据"), max_length=200, blank=True,
                              help_text=_("例如档案管理规定的条款。"))

    class Meta:
        verbose_name = _("个人信息保存期限")
        verbose_name_plural = _("个人信息保存期限")
        ordering = ["category__name"]

    def __str__(self) -> str:
        return f"{self.category}: {self.years}"


class Anonymisation(models.Model):
    """A case whose personal data was anonymised at the end of its retention period:
    written once, in the transaction that anonymised it."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True,
                                related_name="anonymisation", verbose_name=_("案件"))
    anonymised_at = models.DateTimeField(_("匿名化时间"), default=timezone.now)
    retention_years = models.PositiveSmallIntegerField(_("保存年限"))
    person_anonymised = models.BooleanField(
        _("信访人信息一并匿名化"),
        help_text=_("否：信访人还有未到期的案件，其信息保留到最后一件到期。"))

    class Meta:
        verbose_name = _("个人信息匿名化记录")
        verbose_name_plural = _("个人信息匿名化记录")
        ordering = ["-anonymised_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.anonymised_at:%Y-%m-%d}"


class PersonAnonymisation(models.Model):
    """A petitioner whose record (and its history) was anonymised, once: when the last of
    their cases reached the end of its retention period."""

    petitioner = models.OneToOneField(Petitioner, on_delete=models.CASCADE, primary_key=True,
                                      related_name="anonymisation", verbose_name=_("信访人"))
    anonymised_at = models.DateTimeField(_("匿名化时间"), default=timezone.now)

    class Meta:
        verbose_name = _("信访人匿名化记录")
        verbose_name_plural = _("信访人匿名化记录")

    def __str__(self) -> str:
        return f"{self.petitioner_id} {self.anonymised_at:%Y-%m-%d}"


# ---------------------------------------------------------------- the archive (档号, 保管期限)
class RetentionPeriod(models.TextChoices):
    """保管期限 of an archived file, coded as the archive number writes it (DA/T 22)."""

    PERMANENT = "Y", _("永久")
    LONG = "D30", _("长期（30年）")
    SHORT = "D10", _("短期（10年）")


RETENTION_YEARS_OF = {RetentionPeriod.PERMANENT: None, RetentionPeriod.LONG: 30,
                      RetentionPeriod.SHORT: 10}


class ArchiveFile(models.Model):
    """卷宗: an archived case's place in the archive, given once when it is archived: its
    archive number (档号 <全宗号>-<年度>-<保管期限代码>-<件号>) and its retention period.

    The file's own retention, not the personal data's: RetentionRule and RETENTION_YEARS
    decide when the petitioner's details in it are anonymised (feedback.retention)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True,
                                related_name="archive_file", verbose_name=_("案件"))
    number = models.CharField(_("档号"), max_length=50, unique=True)
    fonds = models.CharField(_("全宗号"), max_length=20)
    year = models.PositiveSmallIntegerField(_("年度"))
    retention = models.CharField(_("保管期限"), max_length=4, choices=RetentionPeriod.choices)
    serial = models.PositiveIntegerField(_("件号"))
    retention_basis = models.CharField(_("保管期限依据"), max_length=200, blank=True)
    filed_at = models.DateTimeField(_("归档时间"), default=timezone.now)

    class Meta:
        verbose_name = _("卷宗")
        verbose_name_plural = _("卷宗")
        ordering = ["-filed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["fonds", "year", "retention", "serial"],
                                    name="one_serial_per_fonds_year_and_retention"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def kept_until_year(self) -> int | None:
        """The last year the file is kept (counted from 1 January after its year);
        None when it is kept permanently."""
        years = RETENTION_YEARS_OF[RetentionPeriod(self.retention)]
        return None if years is None else self.year + years


class ArchiveNumberSequence(models.Model):
    """The last serial (件号) given in one fonds, year and retention period."""

    fonds = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    retention = models.CharField(max_length=4, choices=RetentionPeriod.choices)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fonds", "year", "retention"],
                                    name="one_archive_sequence_per_class"),
        ]

    def __str__(self) -> str:
        return f"{self.fonds}-{self.year}-{self.retention}: {self.last_value}"


# ---------------------------------------------------------------- canned phrases (常用语)
class PhraseUse(models.TextChoices):
    """Which text a phrase is written for: the office's reply, or one of the three texts
    of the department's result."""

    REPLY = "reply", _("答复")
    RESULT = "result", _("办理结果")
    FINDINGS = "findings", _("调查核实")
    OPINION = "opinion", _("处理意见")


class Phrase(models.Model):
    """常用答复口径 / 常用办理用语: a text the office or a department inserts and edits,
    its placeholders ({编号}, {信访人}, …; feedback.phrases.PLACEHOLDERS) filled from the
    case. A phrase of a category applies to its subcategories too; one without a
    category, to every case."""

    title = models.CharField(_("标题"), max_length=100)
    text = models.TextField(_("内容"), max_length=2000)
    use = models.CharField(_("用于"), max_length=10, choices=PhraseUse.choices)
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="phrases",
        verbose_name=_("问题分类"), help_text=_("一级分类的用语也用于其子分类；不选则用于所有分类。"))
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("常用语")
        verbose_name_plural = _("常用语")
        ordering = ["sort_order", "title", "pk"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from .phrases import placeholder_errors

        errors = placeholder_errors(self.text or "")
        if errors:
            raise ValidationError({"text": errors})
