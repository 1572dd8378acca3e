from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, EscalationStep


class Escalation(models.Model):
    """One step of the ladder taken for one case. Unique per case and step: however many
    sweeps run, each step happens once."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations",
                             verbose_name=_("案件"))
    step = models.CharField(_("环节"), max_length=20, choices=EscalationStep.choices)
    # 0 for the first handling, n after the n-th reopening (Case.reopen_count): a reopened
    # case climbs a fresh ladder against its new deadline.
    round = models.PositiveSmallIntegerField(_("轮次"), default=0)
    # The acceptance time limit for the intake steps, the answer's deadline for the others.
    due_at = models.DateTimeField(_("当时的期限"))
    happened_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("督办环节")
        verbose_name_plural = _("督办环节")
        ordering = ["happened_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "round", "step"],
                                               name="one_escalation_per_case_round_and_step")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_step_display()}"


class SupervisionOrder(models.Model):
    """督办单: opened when a case goes overdue (level 1) and again at level 2; the
    department answers it; it closes when the petitioner is answered."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervision_orders",
                             verbose_name=_("案件"))
    level = models.PositiveSmallIntegerField(_("级别"), choices=[(1, _("一级督办")),
                                                                (2, _("二级督办（通报）"))])
    round = models.PositiveSmallIntegerField(_("轮次"), default=0,
                                             help_text=_("0 为首次办理，重办后依次加一。"))
    opened_at = models.DateTimeField(_("督办时间"), default=timezone.now)
    answer_due_at = models.DateTimeField(_("部门反馈期限"))
    answer = models.TextField(_("部门反馈"), blank=True)
    answered_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("反馈人"))
    late_reminded_at = models.DateTimeField(_("超时提醒时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("督办单")
        verbose_name_plural = _("督办单")
        ordering = ["-opened_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["case", "round", "level"],
                                               name="one_supervision_order_per_round_and_level")]
        indexes = [
            models.Index(fields=["closed_at", "opened_at"], name="supervision_open_idx"),
            # The sweep's reminder finds late answers without reading answered orders.
            models.Index(fields=["answer_due_at"], name="supervision_late_answer_idx",
                         condition=models.Q(closed_at__isnull=True, answered_at__isnull=True,
                                            late_reminded_at__isnull=True)),
        ]

    def answer_is_late(self, now=None) -> bool:
        """Answered after its time, or still unanswered past it."""
        if self.answered_at is not None:
            return self.answered_at > self.answer_due_at
        return self.closed_at is None and (now or timezone.now()) > self.answer_due_at

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_level_display()}"


class DailyDigest(models.Model):
    """The morning digest of one department for one day: sent once, whatever the number of
    beats or workers (the unique key is taken in the transaction that writes it)."""

    department = models.ForeignKey("cases.Department", on_delete=models.CASCADE,
                                   related_name="+", verbose_name=_("部门"))
    day = models.DateField(_("日期"))
    due_today = models.PositiveIntegerField(_("今日到期"), default=0)
    overdue = models.PositiveIntegerField(_("已超期"), default=0)
    sent_at = models.DateTimeField(_("生成时间"), default=timezone.now)

    class Meta:
        verbose_name = _("每日提醒")
        verbose_name_plural = _("每日提醒")
        ordering = ["-day", "department"]
        constraints = [models.UniqueConstraint(fields=["department", "day"],
                                               name="one_digest_per_department_and_day")]

    def __str__(self) -> str:
        return f"{self.department_id} {self.day}"


# ---------------------------------------------------------------- figures (summary tables)
class SummaryGeneration(models.Model):
    """One row, moved by every write to the summary tables (each refresh batch, a
    rebuild): the dashboard keeps a period's figures in the cache under it, so a figure
    it shows from there is never older than the tables (oversight.dashboard.cached)."""

    # A new random value each time (not a count: a database restored from a backup
    # must not meet the cache's entries of another past under the same number).
    value = models.CharField(max_length=32, default="")

    class Meta:
        verbose_name = _("统计版本")
        verbose_name_plural = _("统计版本")

    def __str__(self) -> str:
        return self.value


class FigureCounts(models.Model):
    """The counters every figure row carries (see oversight.figures.MEASURES)."""

    received = models.IntegerField(_("受理量"), default=0)
    invalid = models.IntegerField(_("无效件"), default=0)
    deadline_counted = models.IntegerField(_("应按期件"), default=0)
    on_time = models.IntegerField(_("按期答复"), default=0)
    responded = models.IntegerField(_("按期联系"), default=0)
    visited = models.IntegerField(_("回访评价"), default=0)
    solved = models.IntegerField(_("评价已解决"), default=0)
    satisfied = models.IntegerField(_("评价满意"), default=0)
    returns = models.IntegerField(_("退单"), default=0)
    extensions = models.IntegerField(_("延期"), default=0)
    reopenings = models.IntegerField(_("重办"), default=0)
    # Rounds: a reopened case counts each round with its own answer (definitions 2).
    rounds = models.IntegerField(_("办理轮次"), default=0, db_default=0)
    accepted = models.IntegerField(_("已受理"), default=0, db_default=0)
    archived = models.IntegerField(_("已归档"), default=0, db_default=0)
    visits_due = models.IntegerField(_("应回访"), default=0, db_default=0)
    visits_on_time = models.IntegerField(_("按期回访"), default=0, db_default=0)
    final_counted = models.IntegerField(_("应答复最终结果"), default=0, db_default=0)
    final_on_time = models.IntegerField(_("按期答复最终结果"), default=0, db_default=0)
    found_true = models.IntegerField(_("属实"), default=0, db_default=0)
    found_partly = models.IntegerField(_("部分属实"), default=0, db_default=0)
    found_false = models.IntegerField(_("不属实"), default=0, db_default=0)
    petitioners_answered = models.IntegerField(_("已答复信访人"), default=0, db_default=0)
    appeals_upheld = models.IntegerField(_("申诉成立"), default=0, db_default=0)

    class Meta:
        abstract = True


class FigureDimensions(FigureCounts):
    """What the figures are broken down by (0 where a case has none yet)."""

    department_id_value = models.IntegerField(_("主办部门"), default=0)
    category_id_value = models.IntegerField(_("问题分类"), default=0)
    channel = models.CharField(_("渠道"), max_length=20)
    tier_id_value = models.IntegerField(_("响应级别"), default=0)

    class Meta:
        abstract = True


class CaseFacts(FigureDimensions):
    """What one case contributes to the figures, as last counted: the summary moves by the
    difference when the case changes, never by recounting."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True,
                                related_name="facts", verbose_name=_("案件"))
    day = models.DateField(_("登记日期"))

    class Meta:
        verbose_name = _("案件统计口径")
        verbose_name_plural = _("案件统计口径")


class DailyFigures(FigureDimensions):
    """The counters of the cases registered on one local day, by department, category,
    channel and tier (0 where a case has none yet). Kept up to date incrementally."""

    day = models.DateField(_("日期"))

    class Meta:
        verbose_name = _("每日统计")
        verbose_name_plural = _("每日统计")
        constraints = [models.UniqueConstraint(
            fields=["day", "department_id_value", "category_id_value", "channel",
                    "tier_id_value"], name="one_figure_row_per_day_and_dimensions")]


class MonthlyFigures(FigureDimensions):
    """The same counters by month (the first day of the month): a year is read from twelve
    months of rows, whatever the number of days and cases."""

    month = models.DateField(_("月份"))

    class Meta:
        verbose_name = _("每月统计")
        verbose_name_plural = _("每月统计")
        constraints = [models.UniqueConstraint(
            fields=["month", "department_id_value", "category_id_value", "channel",
                    "tier_id_value"], name="one_figure_row_per_month_and_dimensions")]


class FigureRollup(FigureDimensions):
    """The summary added up over some of its dimensions (PostgreSQL only, kept by triggers
    on the daily and monthly tables: oversight migration 0009). `grouping` says which
    dimensions a row keeps, as a sum of ROLLUP_DIMENSIONS; the others hold -1 ('*' for
    the channel). A year of the office by category is then a few hundred rows, not one
    row per case and day as the full tables hold at city scale."""

    grouping = models.PositiveSmallIntegerField(_("汇总维度"))

    class Meta:
        abstract = True


class DailyRollup(FigureRollup):
    day = models.DateField(_("日期"))

    class Meta:
        verbose_name = _("每日统计汇总")
        verbose_name_plural = _("每日统计汇总")
        constraints = [models.UniqueConstraint(
            fields=["grouping", "day", "department_id_value", "category_id_value", "channel",
                    "tier_id_value"], name="one_rollup_row_per_day_and_grouping")]


class MonthlyRollup(FigureRollup):
    month = models.DateField(_("月份"))

    class Meta:
        verbose_name = _("每月统计汇总")
        verbose_name_plural = _("每月统计汇总")
        constraints = [models.UniqueConstraint(
            fields=["grouping", "month", "department_id_value", "category_id_value",
                    "channel", "tier_id_value"], name="one_rollup_row_per_month_and_grouping")]


# Each dimension's bit in FigureRollup.grouping; the rollups keep every grouping of one or
# two dimensions (ROLLUP_GROUPINGS), a slice by three or four reads the full tables.
ROLLUP_DIMENSIONS = {"department_id_value": 1, "category_id_value": 2, "channel": 4,
                     "tier_id_value": 8}
ROLLUP_GROUPINGS = tuple(sorted(
    {a | b for a in ROLLUP_DIMENSIONS.values() for b in ROLLUP_DIMENSIONS.values()}))


# ---------------------------------------------------------------- the departments' ledger
class LedgerCounts(models.Model):
    """What the responsibility segments charge a holder (cases.ledger): the time it held
    cases, the time past their deadline while it held them, and the returns and
    dispatches charged to it."""

    segments = models.IntegerField(_("责任时段"), default=0, db_default=0)
    held_seconds = models.BigIntegerField(_("持有时长（秒）"), default=0, db_default=0)
    late_segments = models.IntegerField(_("超期时段"), default=0, db_default=0)
    late_seconds = models.BigIntegerField(_("超期时长（秒）"), default=0, db_default=0)
    dispatched = models.IntegerField(_("收到交办"), default=0, db_default=0)
    misrouted = models.IntegerField(_("退单成立（派错）"), default=0, db_default=0)
    returns_upheld = models.IntegerField(_("退单成立"), default=0, db_default=0)
    returns_refused = models.IntegerField(_("退单被驳回"), default=0, db_default=0)
    extensions = models.IntegerField(_("获批延期"), default=0, db_default=0)

    class Meta:
        abstract = True


class SegmentFacts(LedgerCounts):
    """What one case's closed segments charge one holder, by the day each segment began,
    as last counted: the ledger moves by the difference when the case changes."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="segment_facts",
                             verbose_name=_("案件"))
    day = models.DateField(_("日期"))
    holder = models.CharField(_("责任方"), max_length=20)
    department_id_value = models.IntegerField(_("部门"), default=0)

    class Meta:
        verbose_name = _("案件责任时段口径")
        verbose_name_plural = _("案件责任时段口径")
        constraints = [models.UniqueConstraint(
            fields=["case", "day", "holder", "department_id_value"],
            name="one_segment_fact_per_case_day_holder")]


class DepartmentLedger(LedgerCounts):
    """The ledger by day and holder (a department, or the office's own stages)."""

    day = models.DateField(_("日期"))
    holder = models.CharField(_("责任方"), max_length=20)
    department_id_value = models.IntegerField(_("部门"), default=0)

    class Meta:
        verbose_name = _("部门责任台账")
        verbose_name_plural = _("部门责任台账")
        constraints = [models.UniqueConstraint(
            fields=["day", "holder", "department_id_value"],
            name="one_ledger_row_per_day_and_holder")]


class MonthlyLedger(LedgerCounts):
    """The ledger by month (the first day of the month) and holder: PostgreSQL only, kept
    by triggers on the daily ledger (oversight migration 0012). A year of a city's ledger
    is then twelve months of a few hundred holders, not a row per holder and day. On
    SQLite the table stays empty and the dashboard reads the daily ledger."""

    month = models.DateField(_("月份"))
    holder = models.CharField(_("责任方"), max_length=20)
    department_id_value = models.IntegerField(_("部门"), default=0)

    class Meta:
        verbose_name = _("部门责任台账（按月）")
        verbose_name_plural = _("部门责任台账（按月）")
        constraints = [models.UniqueConstraint(
            fields=["month", "holder", "department_id_value"],
            name="one_ledger_row_per_month_and_holder")]


class MonthlyReport(models.Model):
    """The monthly oversight report, generated on the first of the next month."""

    month = models.DateField(_("月份"), unique=True)
    pdf = models.FileField(_("报告"), upload_to="reports/")
    generated_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    definitions_version = models.CharField(_("统计口径版本"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("月度报告")
        verbose_name_plural = _("月度报告")
        ordering = ["-month"]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")


# ---------------------------------------------------------------- appeals (申诉)
class AppealMeasure(models.TextChoices):
    """The figure a department appeals on one case."""

    ON_TIME = "on_time", _("按期答复")
    RESPONSE = "response", _("按期联系")


class AppealGround(models.TextChoices):
    UNREACHABLE = "unreachable", _("联系不上信访人")
    MISROUTED = "misrouted", _("派单错误（派错部门）")
    OUTSIDE_REMIT = "outside_remit", _("不属本部门职责")
    OTHER = "other", _("其他")


class AppealState(models.TextChoices):
    PENDING = "pending", _("待审")
    UPHELD = "upheld", _("申诉成立")
    REFUSED = "refused", _("申诉不成立")


class Appeal(models.Model):
    """申诉: a department asks that one case be left out of one of its figures; a
    supervisor upholds or refuses it. Once per case and measure. An upheld appeal takes
    the department's rounds of that case out of that measure (oversight.appeals), and is
    counted (申诉成立) and shown beside the figure."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="appeals",
                             verbose_name=_("案件"))
    department = models.ForeignKey("cases.Department", on_delete=models.PROTECT,
                                   related_name="appeals", verbose_name=_("申诉部门"))
    measure = models.CharField(_("申诉的指标"), max_length=20, choices=AppealMeasure.choices)
    ground = models.CharField(_("申诉理由类别"), max_length=20, choices=AppealGround.choices)
    reason = models.TextField(_("申诉理由"))
    evidence = models.ManyToManyField("cases.Attachment", blank=True, related_name="appeals",
                                      verbose_name=_("证明材料"))
    state = models.CharField(_("状态"), max_length=10, choices=AppealState.choices,
                             default=AppealState.PENDING)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("申诉人"))
    created_at = models.DateTimeField(_("申诉时间"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("审定人"))
    decided_at = models.DateTimeField(_("审定时间"), null=True, blank=True)
    decision_note = models.TextField(_("审定意见"), blank=True)

    class Meta:
        verbose_name = _("申诉")
        verbose_name_plural = _("申诉")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["case", "measure"],
                                               name="one_appeal_per_case_and_measure")]
        indexes = [
            # 待审申诉: the supervisors' list reads only the pending ones, oldest first.
            models.Index(fields=["created_at"], name="appeal_pending_idx",
                         condition=models.Q(state="pending")),
            models.Index(fields=["department", "state"], name="appeal_department_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_measure_display()} {self.get_state_display()}"


# ---------------------------------------------------------------- exports made by a task
class ExportState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", "Excel"
    CSV = "csv", "CSV"


class ExportJob(models.Model):
    """An export too big to make in the request (over EXPORT_INLINE_ROWS rows), made by
    the export task for the person who asked, with what that person may see, and fetched
    by them alone (and administrators).

    queued → running → done | failed. A delivery of the task claims the job under its row
    lock for one attempt (`attempts`, `lease_until`); only the attempt that still holds
    the job may finish it, and finishing happens once: the file and the notification
    come from a single finish, however often the broker hands the task out."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="export_jobs", verbose_name=_("申请人"))
    kind = models.CharField(_("导出内容"), max_length=40)
    file_format = models.CharField(_("格式"), max_length=4, choices=ExportFormat.choices)
    # The page's query string as {name: [values]}, read again by the task.
    params = models.JSONField(_("查询条件"), default=dict, blank=True)
    title = models.CharField(_("名称"), max_length=200)
    state = models.CharField(_("状态"), max_length=10, choices=ExportState.choices,
                             default=ExportState.QUEUED)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_done = models.PositiveIntegerField(_("已写行数"), default=0)
    file = models.FileField(_("文件"), upload_to="exports/%Y/%m/", blank=True, max_length=200)
    filename = models.CharField(_("下载文件名"), max_length=200, blank=True)
    # Personal data in the file: the access record's detail, written at each download.
    audit_detail = models.CharField(_("查阅记录"), max_length=200, blank=True)
    error = models.TextField(_("失败原因"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    lease_until = models.DateTimeField(_("占用至"), null=True, blank=True)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["requested_by", "-created_at"],
                                name="export_job_owner_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_finished(self) -> bool:
        return self.state in (ExportState.DONE, ExportState.FAILED)

    @property
    def percent(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)
