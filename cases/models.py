"""The ground floor: the Case and its state machine, and what every case refers to."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import (RETURN_VALUE, ConcurrentTransitionMixin, FSMField, FSMFieldMixin,
                        can_proceed, transition)
from simple_history.models import HistoricalRecords

from .roles import (
    OFFICE_ROLES,
    Role,
    department_ids_of,
    has_role,
    headed_department_ids_of,
    is_petitioner_of,
)
from . import chain
from .crypto import EncryptedCharField, lookup_hash
from .validators import validate_id_number, validate_phone


# ---------------------------------------------------------------- reference data
class Department(models.Model):
    name = models.CharField(_("名称"), max_length=100, unique=True)
    code = models.CharField(_("代码"), max_length=20, unique=True)
    is_office = models.BooleanField(
        _("信访办本身"),
        default=False,
        help_text=_("直办案件由信访办自己办理；只能有一个部门勾选此项。"),
    )
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    heads = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="headed_departments", blank=True,
        verbose_name=_("负责人"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="departments", blank=True,
        verbose_name=_("承办人员"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_office"], condition=Q(is_office=True), name="one_office_department"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Tier(models.TextChoices):
    T1 = "T1", _("一级（紧急）")
    T2 = "T2", _("二级（民生）")
    T3 = "T3", _("三级（一般）")
    T4 = "T4", _("四级（复杂疑难）")


class TimeUnit(models.TextChoices):
    HOURS = "hours", _("小时")
    CALENDAR_DAYS = "calendar_days", _("自然日")
    WORKING_DAYS = "working_days", _("工作日")


class TierPolicy(models.Model):
    """The promise for one response tier: how long, and what happens when it runs out."""

    code = models.CharField(_("级别"), max_length=2, choices=Tier.choices, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    description = models.CharField(_("适用范围"), max_length=200, blank=True)
    duration = models.PositiveIntegerField(_("办理时限"), validators=[MinValueValidator(1)])
    unit = models.CharField(_("时限单位"), max_length=20, choices=TimeUnit.choices)
    warning_percent = models.PositiveSmallIntegerField(
        _("预警点（%）"), default=75, validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("时限用去这个比例时提醒承办人和部门负责人。"),
    )
    return_window_minutes = models.PositiveIntegerField(
        _("退单时限（分钟）"), default=24 * 60,
        help_text=_("交办后多长时间内，部门可以以不属本部门职责为由退单。"),
    )
    level2_after_working_days = models.PositiveSmallIntegerField(
        _("二级督办（工作日）"), default=5,
        help_text=_("超期后仍未答复，再过这些工作日升级为二级督办并通报。"),
    )
    return_visit_working_days = models.PositiveSmallIntegerField(
        _("回访时限（工作日）"), default=1,
    )
    supervision_answer_hours = models.PositiveSmallIntegerField(
        _("督办反馈时限（小时）"), default=24, validators=[MinValueValidator(1)],
        help_text=_("督办单生成后，主办部门须在这些小时内反馈。"),
    )
    max_extensions = models.PositiveSmallIntegerField(
        _("可延期次数"), default=1,
        help_text=_("每轮办理中部门可获批的延期次数；再延期须经督查人员批准。"),
    )
    final_result_days = models.PositiveSmallIntegerField(
        _("最终结果时限（自然日）"), null=True, blank=True,
        help_text=_("两阶段答复：先在办理时限内答复下一步工作，再自受理之日起这些日内答复最终"
                    "结果。留空则一次答复即办结。"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("响应级别")
        verbose_name_plural = _("响应级别")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}（{self.duration}{self.get_unit_display()}）"


class Category(models.Model):
    """A two-level tree: a category and its subcategories."""

    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True,
        related_name="children", verbose_name=_("上级分类"),
    )
    default_tier = models.ForeignKey(
        TierPolicy, on_delete=models.PROTECT, null=True, blank=True,
        verbose_name=_("默认响应级别"),
    )
    default_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True,
        verbose_name=_("默认承办部门"),
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("问题分类")
        verbose_name_plural = _("问题分类")
        ordering = ["sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_name_per_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="top_category_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    def clean(self) -> None:
        if self.parent_id and self.parent.parent_id:
            raise ValidationError({"parent": _("分类只有两级：上级分类必须是一级分类。")})
        if self.parent_id and self.pk and self.children.exists():
            raise ValidationError({"parent": _("有子分类的一级分类不能再挂到别的分类下。")})


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("节假日（休息）")
    WORKDAY = "workday", _("调休上班日")


class CalendarDay(models.Model):
    """A day that differs from the plain week: a public holiday, or a weekend worked (调休).

    A year counts as entered as soon as it has one row; a year without rows is computed
    on plain weekends, and the system check names it.
    """

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=DayKind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


# ---------------------------------------------------------------- petitioners
class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")
    UNKNOWN = "unknown", _("未说明")


class Petitioner(models.Model):
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(
        _("性别"), max_length=10, choices=Gender.choices, default=Gender.UNKNOWN
    )
    age = models.PositiveSmallIntegerField(
        _("年龄"), null=True, blank=True, validators=[MaxValueValidator(130)]
    )
    occupation = models.CharField(_("职业"), max_length=50, blank=True)
    # Encrypted at rest; found by `id_number_hash` (cases.crypto).
    id_number = EncryptedCharField(
        _("身份证号码"), max_length=18, blank=True, validators=[validate_id_number]
    )
    id_number_hash = models.CharField(_("身份证号码索引"), max_length=64, blank=True,
                                      editable=False, db_index=True)
    phone = models.CharField(_("联系电话"), max_length=30, validators=[validate_phone])
    phone_alt = models.CharField(
        _("备用电话"), max_length=30, blank=True, validators=[validate_phone]
    )
    email = models.EmailField(_("电子邮箱"), blank=True)
    address = models.CharField(_("住址"), max_length=200, blank=True)
    wants_confidentiality = models.BooleanField(
        _("要求保密"), default=False,
        help_text=_("保密信访人的身份只对信访办工作人员显示。"),
    )
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("信访人")
        verbose_name_plural = _("信访人")
        indexes = [
            models.Index(fields=["phone"], name="petitioner_phone_idx"),
            # 找案件 by a petitioner's name (the office's search).
            models.Index(fields=["name"], name="petitioner_name_idx"),
            models.Index(fields=["phone_alt"], name="petitioner_phone_alt_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.id_number_hash = lookup_hash(self.id_number)
        if kwargs.get("update_fields") is not None and "id_number" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "id_number_hash"}
        super().save(*args, **kwargs)


# ---------------------------------------------------------------- the case
# The case's history recorder, also asked by cases.numbering (which writes a registering
# act's one version of the case itself).
CASE_HISTORY = HistoricalRecords()


class State(models.TextChoices):
    RECEIVED = "received", _("已登记")
    ACCEPTED = "accepted", _("已受理")
    DISPATCHED = "dispatched", _("已交办")
    RETURNED = "returned", _("已退单")
    IN_HANDLING = "in_handling", _("办理中")
    RESULT_SUBMITTED = "result_submitted", _("结果待审核")
    REPLIED = "replied", _("已答复")
    VISITED = "visited", _("已回访")
    ARCHIVED = "archived", _("已归档")
    ANSWERED = "answered", _("已即办答复")
    REFUSED = "refused", _("不予受理")
    MERGED = "merged", _("已合并")
    WITHDRAWN = "withdrawn", _("已撤回")


# Waiting for the office's answer: the deadline runs.
OPEN_STATES = (
    State.RECEIVED, State.ACCEPTED, State.DISPATCHED, State.RETURNED,
    State.IN_HANDLING, State.RESULT_SUBMITTED,
)
# Swept by the deadline sweep: the open states, and a replied case whose return visit is
# due (its ladder continues with the visit's warning and overdue).
SWEPT_STATES = (*OPEN_STATES, State.REPLIED)
# Ended without the handling chain; may be archived directly.
ENDED_AT_INTAKE = (State.ANSWERED, State.REFUSED, State.MERGED, State.WITHDRAWN)


class EscalationStep(models.TextChoices):
    """The ladder every open case climbs if nobody answers it (DESIGN: tiers)."""

    INTAKE_WARNING = "intake_warning", _("受理预警")
    INTAKE_OVERDUE = "intake_overdue", _("受理超时")
    WARNING = "warning", _("预警")
    OVERDUE = "overdue", _("超期（一级督办）")
    LEVEL2 = "level2", _("二级督办")
    # After the reply: the return visit's time limit, and a two-stage (T4) case's final
    # result; each warns once and is overdue once.
    VISIT_WARNING = "visit_warning", _("回访预警")
    VISIT_OVERDUE = "visit_overdue", _("回访超期")
    FINAL_WARNING = "final_warning", _("最终结果预警")
    FINAL_OVERDUE = "final_overdue", _("最终结果超期")


# The intake steps come first: they run on the acceptance time limit while the case is
# received, and are skipped once it is accepted.
# The answer's steps are skipped once the round's first answer is given; a two-stage
# case then climbs the final result's steps, and every case the return visit's.
ESCALATION_LADDER = [EscalationStep.INTAKE_WARNING, EscalationStep.INTAKE_OVERDUE,
                     EscalationStep.WARNING, EscalationStep.OVERDUE, EscalationStep.LEVEL2,
                     EscalationStep.FINAL_WARNING, EscalationStep.FINAL_OVERDUE,
                     EscalationStep.VISIT_WARNING, EscalationStep.VISIT_OVERDUE]
INTAKE_STEPS = (EscalationStep.INTAKE_WARNING, EscalationStep.INTAKE_OVERDUE)
FINAL_STEPS = (EscalationStep.FINAL_WARNING, EscalationStep.FINAL_OVERDUE)
VISIT_STEPS = (EscalationStep.VISIT_WARNING, EscalationStep.VISIT_OVERDUE)


class Channel(models.TextChoices):
    VISIT = "visit", _("来访")
    PHONE = "phone", _("来电")
    LETTER = "letter", _("来信")
    EMAIL = "email", _("电子邮件")
    WEB = "web", _("网上信访")
    HOTLINE_12345 = "hotline_12345", _("12345平台转办")


class ChannelPolicy(models.Model):
    """How long a case that came by one channel may wait in 已登记 for the office's
    decision (accept, answer, refuse, merge). The limit is stored on each case at
    registration (`Case.accept_by`), so a change applies to later registrations."""

    channel = models.CharField(_("来源渠道"), max_length=20, choices=Channel.choices,
                               unique=True)
    acceptance_duration = models.PositiveIntegerField(
        _("受理时限"), validators=[MinValueValidator(1)])
    acceptance_unit = models.CharField(_("时限单位"), max_length=20, choices=TimeUnit.choices)
    warning_percent = models.PositiveSmallIntegerField(
        _("预警点（%）"), default=75, validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("受理时限用去这个比例时提醒信访办工作人员。"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("受理时限")
        verbose_name_plural = _("受理时限")
        ordering = ["channel"]

    def __str__(self) -> str:
        return (f"{self.get_channel_display()}（{self.acceptance_duration}"
                f"{self.get_acceptance_unit_display()}）")

    @classmethod
    def attach(cls, cases) -> None:
        """Give these cases their channel's policy, read in one query (a batch)."""
        cases = list(cases)
        if cases:
            policies = {policy.channel: policy for policy in cls.objects.filter(
                channel__in={case.channel for case in cases})}
            for case in cases:
                case.channel_policy = policies.get(case.channel)


class HandlingMode(models.TextChoices):
    ASSIGNED = "assigned", _("交办")
    DIRECT = "direct", _("直办")
    ESCALATED = "escalated", _("呈办")


class ReviewStage(models.TextChoices):
    HEAD = "head", _("待部门负责人审核")
    OFFICE = "office", _("待信访办审核")
    SUPERVISOR = "supervisor", _("待督办领导审核")
    APPROVED = "approved", _("已审核通过")


# The badge of a result approved at its last review stage (Case.status_display).
APPROVED_STATUS = _("已审核，待答复")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY = "basically", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class InvalidReason(models.TextChoices):
    CONSULTATION = "consultation", _("仅为咨询")
    UNLAWFUL_DEMAND = "unlawful_demand", _("诉求不合法")
    INTERNAL_STAFF = "internal_staff", _("内部人员事项")
    MISROUTED = "misrouted", _("错派误派")


class Finding(models.TextChoices):
    """What the investigation found of the complaint (核查结论)."""

    TRUE = "true", _("属实")
    PARTLY = "partly", _("部分属实")
    FALSE = "false", _("不属实")


class ReplyChannel(models.TextChoices):
    PHONE = "phone", _("电话")
    LETTER = "letter", _("书面信函")
    SMS = "sms", _("短信")
    WEB = "web", _("网上答复")
    EMAIL = "email", _("电子邮件")


# --- conditions: small pure predicates; their message says what is missing.
def condition(message):
    def decorate(predicate):
        predicate.message = message
        return predicate

    return decorate


@condition(_("呈办案件须先有领导批示，才能交办"))
def instructed_if_escalated(case: "Case") -> bool:
    return case.handling_mode != HandlingMode.ESCALATED or bool(case.instruction.strip())


@condition(_("案件已呈办，等待领导批示"))
def not_escalated(case: "Case") -> bool:
    return case.handling_mode != HandlingMode.ESCALATED


@condition(_("只有呈办案件需要批示"))
def is_escalated(case: "Case") -> bool:
    return case.handling_mode == HandlingMode.ESCALATED


@condition(_("已超过退单时限，不能退单"))
def within_return_window(case: "Case") -> bool:
    if case.dispatched_at is None or case.tier is None:
        return False
    window = timedelta(minutes=case.tier.return_window_minutes)
    return timezone.now() <= case.dispatched_at + window


@condition(_("办理结果尚未审核通过，不能答复"))
def result_is_approved(case: "Case") -> bool:
    return case.review_stage == ReviewStage.APPROVED


@condition(_("办理结果已审核通过，无需再审"))
def result_is_under_review(case: "Case") -> bool:
    return case.review_stage in (ReviewStage.HEAD, ReviewStage.OFFICE, ReviewStage.SUPERVISOR)


@condition(_("尚未回访，且回访未联系上的次数还不够"))
def visited_or_unreachable(case: "Case") -> bool:
    """A replied case is archived unvisited only when the petitioner could not be reached."""
    return case.state != State.REPLIED or case.unreached_visits >= settings.VISIT_MAX_ATTEMPTS


# --- permissions: may this person make this move on this case?
def office_staff(case: "Case", user) -> bool:
    return has_role(user, *OFFICE_ROLES)


def dispatcher(case: "Case", user) -> bool:
    return has_role(user, Role.DISPATCHER)


def supervisor(case: "Case", user) -> bool:
    return has_role(user, Role.SUPERVISOR)


def office_staff_or_the_petitioner(case: "Case", user) -> bool:
    """The return visit is recorded by the office, or given by the petitioner online."""
    return has_role(user, *OFFICE_ROLES) or is_petitioner_of(user, case)


def reopener(case: "Case", user) -> bool:
    """The office or a supervisor decides; an unsatisfied rating by the petitioner too."""
    return has_role(user, *OFFICE_ROLES, Role.SUPERVISOR) or is_petitioner_of(user, case)


def lead_department_staff(case: "Case", user) -> bool:
    """The people who work a case for its lead department: its handlers and heads; for a
    case the office handles itself (直办), the office's own staff."""
    if case.handling_mode == HandlingMode.DIRECT:
        return has_role(user, *OFFICE_ROLES)
    return (
        has_role(user, Role.HANDLER, Role.DEPARTMENT_HEAD)
        and case.lead_department_id in department_ids_of(user)
    )


def lead_department_head(case: "Case", user) -> bool:
    if case.handling_mode == HandlingMode.DIRECT:
        return has_role(user, Role.DISPATCHER)
    return (has_role(user, Role.DEPARTMENT_HEAD)
            and case.lead_department_id in headed_department_ids_of(user))


def assisting_department_ids(case: "Case") -> frozenset[int]:
    """The case's assisting departments (prefetched where a list shows many cases)."""
    cached = getattr(case, "_assisting_ids", None)
    if cached is None:
        cached = frozenset(d.pk for d in case.assisting_departments.all())
        case._assisting_ids = cached
    return cached


def assisting_department_staff(case: "Case", user) -> bool:
    return (has_role(user, Role.HANDLER, Role.DEPARTMENT_HEAD)
            and bool(assisting_department_ids(case) & department_ids_of(user)))


def department_staff(case: "Case", user) -> bool:
    """Lead or assisting: whoever works on the case for a department."""
    return lead_department_staff(case, user) or assisting_department_staff(case, user)


def department_of(user, case: "Case") -> int | None:
    """The department a person acts for on this case: the lead first, else the lowest
    assisting one they belong to; None if they work on it for no department."""
    if lead_department_staff(case, user):
        return case.lead_department_id
    if assisting_department_staff(case, user):
        return min(assisting_department_ids(case) & department_ids_of(user))
    return None


def current_reviewer(case: "Case", user) -> bool:
    if case.review_stage == ReviewStage.HEAD:
        return (
            has_role(user, Role.DEPARTMENT_HEAD)
            and case.lead_department_id in headed_department_ids_of(user)
        )
    if case.review_stage == ReviewStage.OFFICE:
        return has_role(user, Role.DISPATCHER)
    if case.review_stage == ReviewStage.SUPERVISOR:
        return has_role(user, Role.SUPERVISOR)
    return False


class Case(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(_("案件编号"), max_length=24, unique=True, editable=False)
    state = FSMField(
        _("状态"), max_length=20, choices=State.choices, default=State.RECEIVED, protected=True
    )
    channel = models.CharField(_("来源渠道"), max_length=20, choices=Channel.choices)
    petitioner = models.ForeignKey(
        Petitioner, on_delete=models.PROTECT, related_name="cases", verbose_name=_("信访人")
    )
    summary = models.CharField(_("诉求摘要"), max_length=200)
    content = models.TextField(_("反映内容"))
    demands = models.TextField(_("诉求"), blank=True)
    place = models.CharField(_("问题发生地"), max_length=200, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("问题分类")
    )
    tier = models.ForeignKey(
        TierPolicy, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("响应级别")
    )
    handling_mode = models.CharField(
        _("办理方式"), max_length=20, choices=HandlingMode.choices, blank=True
    )
    lead_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True,
        related_name="led_cases", verbose_name=_("主办部门"),
    )
    assisting_departments = models.ManyToManyField(
        Department, blank=True, related_name="assisted_cases", verbose_name=_("协办部门")
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="handled_cases", verbose_name=_("承办人"),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="registered_cases", verbose_name=_("登记人"),
    )
    taken_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="taken_in_cases", verbose_name=_("接办人"),
        help_text=_("给出登记结论（受理、即办、不予受理、合并）的工作人员；网上信访和12345转办"
                    "没有登记人，由接办人跟进。"),
    )

    is_confidential = models.BooleanField(_("保密"), default=False)
    is_sensitive = models.BooleanField(_("舆情风险"), default=False)
    is_collective = models.BooleanField(_("集体访"), default=False)
    head_count = models.PositiveIntegerField(_("来访人数"), null=True, blank=True)
    is_repeat = models.BooleanField(_("重复访"), default=False)
    is_abnormal = models.BooleanField(_("异常访"), default=False)
    earlier_case = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True,
        related_name="repeats", verbose_name=_("关联的前案"),
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True,
        related_name="merged_cases", verbose_name=_("并入案件"),
    )
    external_reference = models.CharField(_("12345平台工单号"), max_length=64, blank=True)
    platform_due_at = models.DateTimeField(_("平台办结时限"), null=True, blank=True)

    received_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    accept_by = models.DateTimeField(
        _("受理时限"), null=True, blank=True,
        help_text=_("登记时按来源渠道的受理时限计算；到时仍未受理即为受理超时。"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("答复期限"), null=True, blank=True)
    reopened_at = models.DateTimeField(
        _("最近重办时间"), null=True, blank=True,
        help_text=_("重办后期限从此时重新计算，预警点也按新的办理时段计算。"))
    dispatched_at = models.DateTimeField(_("交办时间"), null=True, blank=True)
    handling_started_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    responded_at = models.DateTimeField(
        _("首次联系信访人"), null=True, blank=True,
        help_text=_("承办人第一次联系上信访人的时间，计入响应率。"),
    )
    result_submitted_at = models.DateTimeField(_("结果提交时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    visited_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    answer = models.TextField(_("即办答复内容"), blank=True)
    refusal_reason = models.TextField(_("不予受理理由"), blank=True)
    refusal_guidance = models.TextField(_("告知的途径"), blank=True)
    instruction = models.TextField(_("领导批示"), blank=True)
    review_stage = models.CharField(
        _("审核环节"), max_length=20, choices=ReviewStage.choices, blank=True
    )
    reply_channel = models.CharField(
        _("答复方式"), max_length=20, choices=ReplyChannel.choices, blank=True
    )
    satisfaction = models.CharField(
        _("满意度"), max_length=20, choices=Satisfaction.choices, blank=True
    )
    invalid_reason = models.CharField(
        _("无效件原因"), max_length=30, choices=InvalidReason.choices, blank=True
    )

    return_count = models.PositiveIntegerField(_("退单次数"), default=0)
    extension_count = models.PositiveIntegerField(_("延期次数"), default=0)
    reopen_count = models.PositiveIntegerField(_("重办次数"), default=0)
    # Every return-visit verdict, over all rounds (an unsatisfied one that reopened the case
    # included): the resolution and satisfaction rates count verdicts, not final states.
    visit_count = models.PositiveIntegerField(_("回访评价次数"), default=0)
    solved_visits = models.PositiveIntegerField(_("评价已解决次数"), default=0)
    satisfied_visits = models.PositiveIntegerField(_("评价满意或基本满意次数"), default=0)
    unreached_visits = models.PositiveSmallIntegerField(
        _("未联系上的回访次数"), default=0,
        help_text=_("本次答复后回访未联系上信访人的次数；达到规定次数后可以归档。"),
    )
    visit_due_at = models.DateTimeField(
        _("回访期限"), null=True, blank=True,
        help_text=_("答复后按响应级别的回访时限（工作日）计算。"))
    final_due_at = models.DateTimeField(
        _("最终结果期限"), null=True, blank=True,
        help_text=_("两阶段答复的案件：最终结果的答复期限。"))
    final_replied_at = models.DateTimeField(_("最终结果答复时间"), null=True, blank=True)
    # The party complained about (被投诉单位、科室、人员) and what the investigation found.
    complained_department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="complaints_against", verbose_name=_("被投诉单位"))
    complained_section = models.CharField(_("被投诉科室"), max_length=100, blank=True)
    complained_person = models.CharField(_("被投诉人员"), max_length=50, blank=True)
    finding = models.CharField(_("核查结论"), max_length=10, choices=Finding.choices,
                               blank=True)

    history = CASE_HISTORY

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-received_at"]
        indexes = [
            models.Index(
                fields=["due_at"], name="case_open_due_idx",
                condition=Q(state__in=OPEN_STATES),
            ),
            models.Index(
                fields=["lead_department", "due_at"], name="case_open_department_due_idx",
                condition=Q(state__in=OPEN_STATES),
            ),
            # The intake queue: received cases, the acceptance limit that runs out first.
            models.Index(
                fields=["accept_by", "id"], name="case_received_accept_by_idx",
                condition=Q(state=State.RECEIVED),
            ),
            models.Index(fields=["received_at"], name="case_received_idx"),
            models.Index(fields=["state", "received_at"], name="case_state_received_idx"),
            models.Index(fields=["registered_by", "received_at"], name="case_registrar_idx"),
            models.Index(fields=["external_reference"], name="case_external_ref_idx"),
            # "Mine" in a department inbox, index only.
            models.Index(
                fields=["handler", "lead_department"], name="case_inbox_handler_idx",
                condition=Q(state__in=(State.DISPATCHED, State.IN_HANDLING,
                                       State.RESULT_SUBMITTED)),
            ),
            # The final result's deadline in force: the hour the overdue figure cuts.
            models.Index(
                fields=["final_due_at"], name="case_open_final_due_idx",
                condition=Q(state__in=OPEN_STATES, final_replied_at__isnull=True,
                            final_due_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_collective=False) | Q(head_count__gte=2),
                name="collective_visit_has_head_count",
            ),
        ]

    @property
    def state_fields(self):
        """The case's FSM fields, found once: django-fsm looks for them among all of the
        model's fields (over sixty) on every instance it builds, which was most of the CPU
        of an inbox page's fifty rows."""
        fields = Case.__dict__.get("_fsm_state_fields")
        if fields is None:
            fields = tuple(field for field in self._meta.fields
                           if isinstance(field, FSMFieldMixin))
            Case._fsm_state_fields = fields
        return fields

    def __str__(self) -> str:
        return f"{self.number} {self.summary}"

    # ------------------------------------------------------------ the sweep's schedule
    # The ladder's step reached and the time of the next one live in their own narrow row
    # (CaseSchedule), so the sweep's writes never touch the case row and its indexes.
    # They read and write as attributes of the case; saving the case saves them.
    @property
    def timetable(self) -> "CaseSchedule":
        """The case's schedule row (read at first use: after the caller's lock); for a
        case that has none yet, a new one, written at the next save once it is set."""
        cache = self._state.fields_cache  # where the reverse relation `schedule` is held
        row = cache.get("schedule", _UNREAD)
        if row is _UNREAD:
            row = CaseSchedule.objects.filter(case_id=self.pk).first() if self.pk else None
        if row is None:  # select_related holds None for a case without one: no new query
            row = CaseSchedule(case_id=self.pk)
        cache["schedule"] = row
        return row

    @property
    def escalation_step(self) -> str:
        return self.timetable.escalation_step

    @escalation_step.setter
    def escalation_step(self, value: str) -> None:
        row = self.timetable
        row.changed = row.changed or row.escalation_step != value
        row.escalation_step = value

    @property
    def next_action_at(self) -> datetime | None:
        return self.timetable.next_action_at

    @next_action_at.setter
    def next_action_at(self, value: datetime | None) -> None:
        row = self.timetable
        row.changed = row.changed or row.next_action_at != value
        row.next_action_at = value

    def get_escalation_step_display(self) -> str:
        return str(EscalationStep(self.escalation_step).label) if self.escalation_step else ""

    def save(self, *args, **kwargs):
        """Save the case, then its schedule row if it changed (a full save, or one whose
        `update_fields` name `escalation_step` or `next_action_at`)."""
        update_fields = kwargs.get("update_fields")
        schedule_named = update_fields is None
        if update_fields is not None:
            schedule_named = bool(SCHEDULE_FIELDS.intersection(update_fields))
            kwargs["update_fields"] = [name for name in update_fields
                                       if name not in SCHEDULE_FIELDS]
        super().save(*args, **kwargs)
        row = self._state.fields_cache.get("schedule")
        if schedule_named and row is not None and row.changed:
            CaseSchedule.objects.bulk_create(
                [CaseSchedule(case_id=self.pk, escalation_step=row.escalation_step,
                              next_action_at=row.next_action_at)],
                update_conflicts=True, unique_fields=["case"],
                update_fields=["escalation_step", "next_action_at"])
            row.case_id, row.changed = self.pk, False

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        """The schedule's names in `fields` read its row again (at its next use)."""
        if fields is not None and SCHEDULE_FIELDS.intersection(fields):
            self._state.fields_cache.pop("schedule", None)
            fields = [name for name in fields if name not in SCHEDULE_FIELDS]
            if not fields:
                return
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_with_department(self) -> bool:
        return self.state in (State.DISPATCHED, State.IN_HANDLING, State.RESULT_SUBMITTED)

    @property
    def can_be_archived(self) -> bool:
        """What the state machine says (state and conditions), for pages to ask."""
        return can_proceed(self.archive)

    @property
    def is_two_stage(self) -> bool:
        """Its tier answers the next steps first, then the final result (T4)."""
        return self.tier_id is not None and self.tier.final_result_days is not None

    @property
    def awaits_final_result(self) -> bool:
        """The next steps were answered; the final result is still to come."""
        return self.final_due_at is not None and self.final_replied_at is None

    @property
    def deadline_in_force(self) -> datetime | None:
        """The answer the office owes now: the final result's once the next steps were
        answered, else the reply's (`due_at`)."""
        return self.final_due_at if self.awaits_final_result else self.due_at

    @property
    def planned_final_due_at(self) -> datetime | None:
        """The final result's deadline: stored at the next-steps reply, foreseen before it
        (the round's start plus the tier's calendar days)."""
        if self.final_due_at is not None or not self.is_two_stage:
            return self.final_due_at
        started = self.reopened_at or self.accepted_at
        return started + timedelta(days=self.tier.final_result_days) if started else None

    @property
    def status_display(self) -> str:
        """The state as its badge reads: a result the last reviewer approved waits for the
        office's reply (已审核，待答复), not for review."""
        if self.state == State.RESULT_SUBMITTED and self.review_stage == ReviewStage.APPROVED:
            return str(APPROVED_STATUS)
        return self.get_state_display()

    @property
    def review_waiting_for(self) -> str:
        """Whose review a submitted result waits for ("" when none, or once approved: the
        badge says so already)."""
        if not self.review_stage or self.review_stage == ReviewStage.APPROVED:
            return ""
        return self.get_review_stage_display()

    @property
    def is_overdue(self) -> bool:
        """Past due and not yet answered; a derived fact, never a state."""
        deadline = self.deadline_in_force
        return self.is_open and deadline is not None and deadline < timezone.now()

    @property
    def is_visit_overdue(self) -> bool:
        """Replied, the return visit still to make, and its time limit passed."""
        return (self.state == State.REPLIED and self.visit_due_at is not None
                and self.unreached_visits < settings.VISIT_MAX_ATTEMPTS
                and self.visit_due_at < timezone.now())

    @property
    def pending_accept_by(self) -> datetime | None:
        """The acceptance time limit while the case still waits for the office's decision;
        None once it is decided (the limit it had stays stored with the case)."""
        return self.accept_by if self.state == State.RECEIVED else None

    @property
    def is_acceptance_overdue(self) -> bool:
        """Still received after its acceptance time limit."""
        return self.pending_accept_by is not None and self.pending_accept_by < timezone.now()

    @property
    def channel_policy(self) -> "ChannelPolicy | None":
        """The acceptance terms of the case's channel, read once per case object (a batch
        reads all of its cases' at once with `ChannelPolicy.attach`)."""
        if "_channel_policy" not in self.__dict__:
            from . import reference

            self._channel_policy = reference.channel_policy(self.channel)
        return self._channel_policy

    @channel_policy.setter
    def channel_policy(self, policy: "ChannelPolicy | None") -> None:
        self._channel_policy = policy

    def next_review_stage(self) -> str:
        """Head, then office; a sensitive case also needs a supervisor."""
        if self.review_stage == ReviewStage.HEAD:
            return ReviewStage.OFFICE
        if self.review_stage == ReviewStage.OFFICE and self.is_sensitive:
            return ReviewStage.SUPERVISOR
        return ReviewStage.APPROVED

    # ------------------------------------------------------------ intake outcomes
    @transition(field=state, source=State.RECEIVED, target=State.ACCEPTED,
                permission=office_staff, custom={"label": _("受理")})
    def accept(self, *, at, due_at, by) -> None:
        self.accepted_at = at
        self.due_at = due_at
        self.taken_in_by = by

    @transition(field=state, source=State.RECEIVED, target=State.ANSWERED,
                permission=office_staff, custom={"label": _("即办答复")})
    def answer_on_the_spot(self, *, at, answer: str, by) -> None:
        self.answer = answer
        self.taken_in_by = by
        self.closed_at = at

    @transition(field=state, source=State.RECEIVED, target=State.REFUSED,
                permission=office_staff, custom={"label": _("不予受理")})
    def refuse(self, *, at, reason: str, guidance: str, by) -> None:
        self.taken_in_by = by
        self.refusal_reason = reason
        self.refusal_guidance = guidance
        self.closed_at = at

    @transition(field=state, source=[State.RECEIVED, State.ACCEPTED], target=State.MERGED,
                permission=office_staff,
                custom={"label": _("合并")})
    def merge(self, *, at, by) -> None:
        if self.state == State.RECEIVED:
            self.taken_in_by = by
        self.closed_at = at

    @transition(field=state, source=OPEN_STATES, target=State.WITHDRAWN,
                permission=office_staff, custom={"label": _("撤回")})
    def withdraw(self, *, at) -> None:
        self.closed_at = at

    # ------------------------------------------------------------ dispatch
    @transition(field=state, source=[State.ACCEPTED, State.RETURNED], target=State.DISPATCHED,
                conditions=[instructed_if_escalated],
                permission=dispatcher, custom={"label": _("交办")})
    def dispatch(self, *, at) -> None:
        if self.handling_mode != HandlingMode.ESCALATED:
            self.handling_mode = HandlingMode.ASSIGNED
        self.dispatched_at = at
        self.handler = None

    @transition(field=state, source=State.ACCEPTED, target=State.IN_HANDLING,
                conditions=[not_escalated],
                permission=dispatcher, custom={"label": _("直办")})
    def handle_directly(self, *, at) -> None:
        self.handling_mode = HandlingMode.DIRECT
        self.handling_started_at = at

    @transition(field=state, source=State.ACCEPTED, target=State.ACCEPTED,
                conditions=[not_escalated], permission=dispatcher, custom={"label": _("呈办")})
    def escalate(self) -> None:
        self.handling_mode = HandlingMode.ESCALATED

    @transition(field=state, source=State.ACCEPTED, target=State.ACCEPTED,
                conditions=[is_escalated], permission=supervisor, custom={"label": _("批示")})
    def instruct(self, *, instruction: str) -> None:
        self.instruction = instruction

    @transition(field=state, source=State.DISPATCHED, target=State.RETURNED,
                conditions=[within_return_window], permission=lead_department_staff,
                custom={"label": _("退单")})
    def return_to_dispatcher(self) -> None:
        self.return_count += 1

    @transition(field=state, source=State.RETURNED, target=State.DISPATCHED,
                permission=dispatcher, custom={"label": _("驳回退单")})
    def refuse_return(self) -> None:
        pass

    # ------------------------------------------------------------ handling
    @transition(field=state, source=State.DISPATCHED, target=State.IN_HANDLING,
                permission=lead_department_staff, custom={"label": _("签收")})
    def department_accept(self, *, at, handler) -> None:
        self.handling_started_at = at
        if handler is not None:
            self.handler = handler

    @transition(field=state, source=State.IN_HANDLING, target=State.RESULT_SUBMITTED,
                permission=lead_department_staff, custom={"label": _("提交办理结果")})
    def submit_result(self, *, at) -> None:
        # The written result is the handling app's HandlingResult row, made with this act.
        self.result_submitted_at = at
        # A case the office handles itself skips the department head.
        self.review_stage = (
            ReviewStage.OFFICE if self.handling_mode == HandlingMode.DIRECT else ReviewStage.HEAD
        )

    @transition(field=state, source=State.RESULT_SUBMITTED, target=State.RESULT_SUBMITTED,
                conditions=[result_is_under_review], permission=current_reviewer,
                custom={"label": _("审核通过")})
    def approve_result(self) -> None:
        self.review_stage = self.next_review_stage()

    @transition(field=state, source=State.RESULT_SUBMITTED, target=State.IN_HANDLING,
                conditions=[result_is_under_review], permission=current_reviewer,
                custom={"label": _("审核退回")})
    def send_back(self) -> None:
        self.review_stage = ""

    # ------------------------------------------------------------ closing the loop
    @transition(field=state, source=State.RESULT_SUBMITTED,
                target=RETURN_VALUE(State.REPLIED, State.IN_HANDLING),
                conditions=[result_is_approved], permission=office_staff,
                custom={"label": _("答复信访人")})
    def reply_to_petitioner(self, *, at, channel: str, visit_due_at=None,
                            final_due_at=None) -> str:
        """The reply ends the round's handling (REPLIED, the visit due by `visit_due_at`),
        except a two-stage case's first reply: the next steps, after which the case goes
        back to its department for the final result, due by `final_due_at`."""
        # What was said is the feedback app's Reply row, made with this act.
        self.reply_channel = channel
        if final_due_at is not None:
            self.replied_at = at
            self.final_due_at = final_due_at
            self.review_stage = ""
            return State.IN_HANDLING
        if self.awaits_final_result:
            self.final_replied_at = at
        else:
            self.replied_at = at
        self.visit_due_at = visit_due_at
        return State.REPLIED

    @transition(field=state, source=State.REPLIED, target=State.VISITED,
                permission=office_staff_or_the_petitioner, custom={"label": _("回访")})
    def record_return_visit(self, *, at, is_solved: bool, satisfaction: str) -> None:
        self.satisfaction = satisfaction
        self.visited_at = at
        self.visit_count += 1
        self.solved_visits += int(is_solved is True)
        self.satisfied_visits += int(satisfaction in (Satisfaction.SATISFIED,
                                                      Satisfaction.BASICALLY))

    @transition(field=state, source=State.VISITED, target=State.IN_HANDLING,
                permission=reopener, custom={"label": _("重办")})
    def reopen(self) -> None:
        self.reopen_count += 1
        self.review_stage = ""
        self.satisfaction = ""
        self.replied_at = None
        self.visited_at = None
        self.unreached_visits = 0
        # A new round: its own visit, and for a two-stage case its own two answers.
        self.visit_due_at = None
        self.final_due_at = None
        self.final_replied_at = None

    @transition(field=state, source=[State.VISITED, State.REPLIED, *ENDED_AT_INTAKE],
                target=State.ARCHIVED, conditions=[visited_or_unreachable],
                permission=office_staff, custom={"label": _("归档")})
    def archive(self, *, at, invalid_reason: str) -> None:
        self.invalid_reason = invalid_reason
        self.archived_at = at
        self.closed_at = self.closed_at or at


_UNREAD = object()
# The names the schedule's row answers for on a case (Case.save, refresh_from_db).
SCHEDULE_FIELDS = frozenset({"escalation_step", "next_action_at"})


class CaseSchedule(models.Model):
    """Where a case stands on the escalation ladder, and when its next step falls due:
    the deadline sweep's own narrow row. The sweep finds due cases through its small
    index and writes only this row, never the case's (whose many indexes made every step
    a costly update). Written with the case row locked: by the acts that change a
    deadline (through `cases.escalation.schedule` and the case's save) and by the sweep."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True,
                                related_name="schedule", verbose_name=_("案件"))
    escalation_step = models.CharField(
        _("已到督办环节"), max_length=20, choices=EscalationStep.choices, blank=True)
    next_action_at = models.DateTimeField(
        _("下一督办环节时间"), null=True, blank=True,
        help_text=_("期限清扫据此找到到点的案件。"))

    changed = False  # set by the case's setters; the case's save writes a changed row

    class Meta:
        verbose_name = _("督办时间表")
        verbose_name_plural = _("督办时间表")
        indexes = [models.Index(fields=["next_action_at"], name="case_schedule_due_idx",
                                condition=Q(next_action_at__isnull=False))]

    def __str__(self) -> str:
        return f"{self.case_id} {self.escalation_step or '—'} {self.next_action_at}"


# Called with (case, event) after every event is written, in the act's transaction (the
# platform callbacks' outbox: intake.callbacks). Registered by the apps' ready().
EVENT_LISTENERS: list = []


class CaseEvent(models.Model):
    """One act on a case: who, when, from which state to which, and why."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("案件")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    action = models.CharField(_("操作"), max_length=40)
    from_state = models.CharField(_("原状态"), max_length=20, choices=State.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, choices=State.choices, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    # Who holds the case after the act, under which deadline and in which round: the
    # responsibility segments and the rounds are read from these (cases.ledger).
    holder = models.CharField(_("责任方"), max_length=20, blank=True)
    holder_department = models.IntegerField(_("责任部门"), null=True, blank=True)
    deadline = models.DateTimeField(_("当时的期限"), null=True, blank=True)
    round = models.PositiveSmallIntegerField(_("轮次"), default=0)
    # The case's chain (cases.chain): the hash of the case's event before this one, and
    # this one's, over all the fields above. Set once, at the insert.
    previous_hash = models.CharField(_("前一条记录的校验值"), max_length=64, blank=True)
    hash = models.CharField(_("校验值"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("案件记录")
        verbose_name_plural = _("案件记录")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_case_at_idx"),
                   # The chain's head, read at every event: the case's last key.
                   models.Index(fields=["case", "id"], name="case_event_chain_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.at:%Y-%m-%d %H:%M}"

    @property
    def actor_display(self) -> str:
        """Who made the act: the staff member, else the office's clock or the public."""
        if self.actor is not None:
            return self.actor.get_full_name() or self.actor.username
        if self.action.startswith("escalation_"):
            return str(_("系统（期限）"))
        return str(_("信访人"))

    @property
    def action_label(self) -> str:
        return str(action_labels().get(self.action, self.action))

    @classmethod
    def record(cls, case: Case, *, actor, action: str, from_state: str, note: str = "",
               data: dict | None = None) -> "CaseEvent":
        """The event of an act, and the case queued to be counted again, in the act's
        transaction (the figures follow every act without a signal)."""
        from . import ledger

        event = cls(case=case, actor=actor, action=action, from_state=from_state,
                    to_state=case.state, note=note, data=data or {})
        ledger.stamp(event, case)
        chain.seal(event)  # last, over every field: the case row is locked by the act
        event.save(force_insert=True)
        chain.sealed(event)
        CaseChange.objects.create(case_id_value=case.pk)
        for listener in EVENT_LISTENERS:
            listener(case, event)
        return event


class CaseChange(models.Model):
    """A case whose figures must be counted again: written with every event, in the act's
    transaction; consumed (and deleted) by oversight's figures task. No foreign key, so
    writing it takes no lock on the case beyond the act's own."""

    case_id_value = models.IntegerField(db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("待统计案件")
        verbose_name_plural = _("待统计案件")


def action_labels() -> dict:
    """The office's word for each act recorded in events: the transitions' labels."""
    labels = {"register": _("登记"), "merged_in": _("并入他案"), "change_tier": _("调整响应级别"),
              "assign_handler": _("分派承办人"), "extend": _("延期"), "note": _("办理记录"),
              "contact": _("联系信访人"), "request_extension": _("申请延期"),
              "refuse_extension": _("不同意延期"), "visit_unreached": _("回访未联系上"),
              "merged_reply": _("按主案答复"), "merged_answered": _("并案信访人已答复"),
              "merged_verdict": _("并案信访人回访评价"),
              "email_received": _("来信补充（电子邮件）"),
              "email_attachment_refused": _("邮件附件未收"),
              "escalation_intake_warning": _("受理预警"),
              "escalation_intake_overdue": _("受理超时"),
              "escalation_warning": _("到期预警"), "escalation_overdue": _("超期督办"),
              "escalation_level2": _("二级督办"), "supervision_answer": _("督办反馈"),
              "escalation_final_warning": _("最终结果预警"),
              "escalation_final_overdue": _("最终结果超期"),
              "escalation_visit_warning": _("回访预警"),
              "escalation_visit_overdue": _("回访超期")}
    for transition in Case._meta.get_field("state").get_all_transitions(Case):
        labels.setdefault(transition.name, transition.custom.get("label", transition.name))
    from .acts import all_acts  # the table, as the stages registered it

    for act in all_acts():
        labels.setdefault(act.name, act.label)
    return labels


class CaseNumberSequence(models.Model):
    """The last number given out per prefix and year. Its row lock serialises numbering."""

    prefix = models.CharField(_("前缀"), max_length=10)
    year = models.PositiveSmallIntegerField(_("年份"))
    last_value = models.PositiveIntegerField(_("已用到"), default=0)

    class Meta:
        verbose_name = _("案件编号序列")
        verbose_name_plural = _("案件编号序列")
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="one_sequence_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last_value}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Stored under a random name: the petitioner's file name is kept in the row only.
    import uuid

    suffix = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        instance.content_type, "bin"
    )
    return f"attachments/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}.{suffix}"


class AttachmentKind(models.TextChoices):
    INTAKE = "intake", _("来信来访材料")
    HANDLING = "handling", _("办理材料")


class Attachment(models.Model):
    """A scanned letter, a photo, a document. Its type was read from its content."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments",
                             verbose_name=_("案件"))
    kind = models.CharField(_("类别"), max_length=20, choices=AttachmentKind.choices,
                            default=AttachmentKind.INTAKE)
    file = models.FileField(_("文件"), upload_to=attachment_path)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=50)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    # The identity policy: on a confidential petitioner's case a department gets only the
    # files the office cleared, or redacted copies uploaded for it.
    cleared_for_departments = models.BooleanField(
        _("可提供给部门"), default=False,
        help_text=_("保密信访人的材料只有经信访办确认（或上传脱敏件）后才提供给承办和协办部门。"))
    redacts = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="redacted_copies", verbose_name=_("脱敏自"))

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def has_preview(self) -> bool:
        """A picture or a PDF: its first page shows as a small image (cases.previews)."""
        return self.content_type in ("application/pdf", "image/jpeg", "image/png")


class Notification(models.Model):
    """A message to one person, written in the transaction of the act that caused it.

    Its e-mail copy is a Delivery row written in the same transaction.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notifications", verbose_name=_("接收人"))
    case = models.ForeignKey(Case, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="notifications", verbose_name=_("案件"))
    kind = models.CharField(_("类别"), max_length=40)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class SavedView(models.Model):
    """保存的筛选: the filters of a list page (the inbox, the queue, a drill-down) a person
    named to use again; the page's query string, without its paging (cases.saved_views)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="saved_views", verbose_name=_("使用人"))
    page = models.CharField(_("页面"), max_length=40)
    name = models.CharField(_("名称"), max_length=40)
    query = models.CharField(_("筛选条件"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("保存时间"), default=timezone.now)

    class Meta:
        verbose_name = _("保存的筛选")
        verbose_name_plural = _("保存的筛选")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "page", "name"],
                                    name="saved_view_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Representative(models.Model):
    """One of the (at most five) representatives chosen by a collective visit."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="representatives",
                             verbose_name=_("案件"))
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    id_number = EncryptedCharField(_("身份证号码"), max_length=18, blank=True)

    class Meta:
        verbose_name = _("集体访代表")
        verbose_name_plural = _("集体访代表")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class DeliveryChannel(models.TextChoices):
    """Where an outbox row goes: e-mail goes to the mail server; an SMS record waits for
    the office's gateway or its staff (待发送短信); a platform row is a signed JSON
    callback to the platform that sent the case (intake.callbacks, `to` is its code)."""

    EMAIL = "email", _("电子邮件")
    SMS = "sms", _("短信")
    PLATFORM = "platform", _("平台推送")


def new_message_id() -> str:
    import uuid

    return f"<{uuid.uuid4().hex}@petitions.invalid>"


class Delivery(models.Model):
    """Whatever leaves the system (an e-mail, an SMS record, a platform callback): a
    row written in the transaction of the act that caused it, sent by a worker outside any
    transaction and holding no lock, retried with backoff, and shown when it finally fails.

    The row is the record: the task published after commit only makes it leave sooner;
    the beat's sweep picks up any row that is due and not leased (a lost publish, a dead
    worker, a restarted broker).
    """

    channel = models.CharField(_("渠道"), max_length=20, default="email")
    to = models.CharField(_("收件人"), max_length=254)
    subject = models.CharField(_("主题"), max_length=250)
    body = models.TextField(_("内容"))
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, null=True,
                                     blank=True, related_name="deliveries",
                                     verbose_name=_("通知"))
    case = models.ForeignKey(Case, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="deliveries", verbose_name=_("案件"))
    # One stable id per row: a server that got a message twice can recognise it.
    message_id = models.CharField(_("邮件标识"), max_length=100, unique=True,
                                  default=new_message_id, editable=False)
    state = models.CharField(_("状态"), max_length=10, choices=DeliveryState.choices,
                             default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次发送时间"), default=timezone.now)
    leased_until = models.DateTimeField(_("发送占用至"), null=True, blank=True)
    last_error = models.TextField(_("最近的错误"), blank=True)
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("发出时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The sender's claim: pending rows by when they are due.
            models.Index(fields=["next_attempt_at"], name="delivery_pending_due_idx",
                         condition=Q(state="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


# ---------------------------------------------------------------- who read personal data
class AccessKind(models.TextChoices):
    CASE = "case", _("查看案件")
    REVEAL = "reveal", _("显示完整信息")
    DOCUMENT = "document", _("下载文书")
    ATTACHMENT = "attachment", _("下载附件")
    EXPORT = "export", _("导出")
    LOOKUP = "lookup", _("查询信访人")
    API = "api", _("接口读取")


class PersonalDataAccess(models.Model):
    """One read of a petitioner's personal data: who, when, from where, which case and
    door — never the values. Append-only: on PostgreSQL a trigger refuses UPDATE and
    DELETE. No foreign-key constraints, so that nothing deleted elsewhere touches it."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                             db_constraint=False, null=True, related_name="+",
                             verbose_name=_("查阅人"))
    username = models.CharField(_("用户名"), max_length=150)
    case = models.ForeignKey(Case, on_delete=models.DO_NOTHING, db_constraint=False,
                             null=True, related_name="+", verbose_name=_("案件"))
    case_number = models.CharField(_("案件编号"), max_length=32, blank=True, db_index=True)
    kind = models.CharField(_("方式"), max_length=20, choices=AccessKind.choices)
    detail = models.CharField(_("内容"), max_length=200, blank=True)
    level = models.CharField(_("显示程度"), max_length=20, blank=True)
    address = models.GenericIPAddressField(_("地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("个人信息查阅记录")
        verbose_name_plural = _("个人信息查阅记录")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "at"], name="access_user_at_idx")]

    def __str__(self) -> str:
        return f"{self.username} {self.get_kind_display()} {self.case_number}"
