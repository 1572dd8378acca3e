from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.crypto import EncryptedCharField
from cases.models import Case, Channel
from rest_framework_api_key.models import AbstractAPIKey


class IntakeSubmission(models.Model):
    """The one-time token of a registration form: the same form sent twice makes one case."""

    token = models.UUIDField(_("表单令牌"), unique=True)
    case = models.OneToOneField(Case, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="intake_submission", verbose_name=_("案件"))
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    # The API's request_id: the same id with another body is a conflict, not the same case.
    fingerprint = models.CharField(_("请求摘要"), max_length=64, blank=True)

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


class TriageSource(models.TextChoices):
    OWN = "own", _("本办案件")
    MIXED = "own+corpus", _("本办案件＋随附语料")
    CORPUS = "corpus", _("随附语料")


class TriageModel(models.Model):
    """One trained triage classifier (intake.learning): what it learned from, how it did
    on the held-out cases, and whether it is the one in use. Every model is kept; a new
    one that scores worse than the active one stays inactive, with the reason."""

    trained_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    source = models.CharField(_("训练数据"), max_length=20, choices=TriageSource.choices)
    own_cases = models.PositiveIntegerField(_("本办案件数"), default=0)
    corpus_rows = models.PositiveIntegerField(_("随附语料条数"), default=0)
    train_size = models.PositiveIntegerField(_("训练样本"), default=0)
    held_out_size = models.PositiveIntegerField(_("留出样本"), default=0)
    tier_accuracy = models.FloatField(_("响应级别准确率"), null=True, blank=True)
    t1_recall = models.FloatField(_("T1 召回率"), null=True, blank=True)
    category_top1 = models.FloatField(_("分类首选准确率"), null=True, blank=True)
    category_top3 = models.FloatField(_("分类前三命中率"), null=True, blank=True)
    department_top1 = models.FloatField(_("部门首选准确率"), null=True, blank=True)
    department_top3 = models.FloatField(_("部门前三命中率"), null=True, blank=True)
    training_seconds = models.FloatField(_("训练用时（秒）"), default=0)
    is_active = models.BooleanField(_("当前使用"), default=False)
    activated_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    compared_with = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("比较的模型"))
    comparison = models.JSONField(
        _("比较模型在同一留出样本上的成绩"), default=dict, blank=True)
    kept_reason = models.CharField(_("未启用原因"), max_length=500, blank=True)
    fitted = models.BinaryField(_("模型数据"), editable=False)

    class Meta:
        verbose_name = _("分诊模型")
        verbose_name_plural = _("分诊模型")
        ordering = ["-trained_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                    name="one_active_triage_model"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How a suggestion names the model it came from."""
        if self.source == TriageSource.CORPUS:
            return str(_("随附模型"))
        arguments = {"date": timezone.localdate(self.trained_at).isoformat(),
                     "count": f"{self.own_cases:,}".replace(",", " ")}
        if self.source == TriageSource.MIXED:
            return _("本办模型（%(date)s，%(count)s 件，含随附语料）") % arguments
        return _("本办模型（%(date)s，%(count)s 件）") % arguments


# ---------------------------------------------------------------- platforms (API clients)
class Platform(models.Model):
    """A system that sends cases through the API — the city's 12345 platform and others —
    with its keys, the channel its cases arrive by, and where their results are pushed."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    code = models.SlugField(_("代码"), max_length=20, unique=True)
    channel = models.CharField(_("来源渠道"), max_length=20, choices=Channel.choices,
                               default=Channel.HOTLINE_12345)
    callback_url = models.URLField(_("回调地址"), blank=True,
                                   help_text=_("受理、交办、延期、答复、回访和重办推送到这里（签名 JSON）。"))
    callback_secret = EncryptedCharField(_("回调签名密钥"), max_length=128, blank=True,
                                         help_text=_("HMAC-SHA256 的密钥，平台用它验证推送。"))
    sees_all_cases = models.BooleanField(
        _("可查看全部案件"), default=False,
        help_text=_("不勾选时，平台只能查看和办理它自己报送的案件。"))
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    # The user its acts are recorded under (events' actor), holding the platform role.
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="platform", verbose_name=_("平台账号"))

    class Meta:
        verbose_name = _("对接平台")
        verbose_name_plural = _("对接平台")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from urllib.parse import urlsplit

        address = urlsplit(self.callback_url or "")
        if self.callback_url and (address.scheme not in ("http", "https") or
                                  address.username or address.password):
            raise ValidationError({"callback_url": _(
                "回调地址须以 http:// 或 https:// 开头，且不含用户名和密码（用签名密钥验证）。")})
        if self.callback_url and not self.callback_secret:
            raise ValidationError({"callback_secret": _(
                "设置了回调地址就须设置签名密钥：平台用它验证推送确实来自本系统。")})


class PlatformAPIKey(AbstractAPIKey):
    """A platform's API key: only its hash is kept; it may expire and be revoked."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="api_keys",
                                 verbose_name=_("平台"))
    # The library's fields, as they were, named for the office's administrator.
    prefix = models.CharField(_("前缀"), max_length=8, unique=True, editable=False)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    name = models.CharField(_("名称"), max_length=50, blank=False, default=None,
                            help_text=_("便于辨认的名称，例如“12345平台 2026”；可以重名，最多50个字符。"))
    revoked = models.BooleanField(_("已吊销"), blank=True, default=False,
                                  help_text=_("吊销后这个密钥不能再使用，且不能恢复。"))
    expiry_date = models.DateTimeField(_("有效期至"), blank=True, null=True,
                                       help_text=_("过了这个时间，这个密钥不能再使用；不填则长期有效。"))

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("平台密钥")
        verbose_name_plural = _("平台密钥")


class PlatformCase(models.Model):
    """A case a platform sent, under its ticket: one case per ticket and platform."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True,
                                related_name="platform_link", verbose_name=_("案件"))
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("平台"))
    ticket = models.CharField(_("平台工单号"), max_length=64)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("平台工单")
        verbose_name_plural = _("平台工单")
        constraints = [models.UniqueConstraint(fields=["platform", "ticket"],
                                               name="one_case_per_platform_ticket")]

    def __str__(self) -> str:
        return f"{self.platform_id}:{self.ticket}"


class CallbackAttempt(models.Model):
    """One attempt to push an event to a platform (the delivery log): the outbox row is
    a cases.Delivery on the platform channel."""

    delivery = models.ForeignKey("cases.Delivery", on_delete=models.CASCADE,
                                 related_name="callback_attempts", verbose_name=_("推送"))
    at = models.DateTimeField(_("时间"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("应答码"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)
    duration_ms = models.PositiveIntegerField(_("用时（毫秒）"), null=True, blank=True)

    class Meta:
        verbose_name = _("推送记录")
        verbose_name_plural = _("推送记录")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.status_code or '—'} {self.error[:60]}".strip()


# ---------------------------------------------------------------- e-mail intake
class InboundState(models.TextChoices):
    REGISTERED = "registered", _("已登记为新案件")
    ADDED = "added", _("已追加到原案件")
    REJECTED = "rejected", _("已拒收")
    FAILED = "failed", _("处理失败")


class InboundMessage(models.Model):
    """A message taken from the office's mailbox, once, by its Message-ID."""

    message_id = models.CharField(_("邮件标识"), max_length=255, unique=True)
    mailbox = models.CharField(_("邮箱"), max_length=100)
    sender = models.CharField(_("发件人"), max_length=254)
    subject = models.CharField(_("主题"), max_length=250, blank=True)
    received_at = models.DateTimeField(_("收信时间"), null=True, blank=True)
    case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="inbound_messages", verbose_name=_("案件"))
    state = models.CharField(_("处理结果"), max_length=20, choices=InboundState.choices)
    error = models.TextField(_("说明"), blank=True)
    taken_at = models.DateTimeField(_("处理时间"), default=timezone.now)

    class Meta:
        verbose_name = _("来信邮件")
        verbose_name_plural = _("来信邮件")
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return self.message_id


def staged_storage():
    """Staged uploads live under VAR_DIR, outside MEDIA_ROOT: never served by URL."""
    from django.core.files.storage import FileSystemStorage

    return FileSystemStorage(location=settings.VAR_DIR / "staged-uploads")


def staged_path(instance: "StagedUpload", filename: str) -> str:
    # A random name: the petitioner's file name is kept in the row only.
    import uuid

    return f"{timezone.localdate():%Y/%m/%d}/{uuid.uuid4().hex}"


class StagedUpload(models.Model):
    """A file attached to a counter form that came back with errors: kept for that form's
    next submission (its submission token), for the clerk who uploaded it and nobody else.
    The saved case takes it; an abandoned one is removed after a few hours
    (intake.services.discard_stale_staged_uploads)."""

    token = models.UUIDField(_("表单令牌"), db_index=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                    related_name="+", verbose_name=_("上传人"))
    file = models.FileField(_("文件"), upload_to=staged_path, storage=staged_storage)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=50)
    size = models.PositiveIntegerField(_("大小（字节）"))
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("暂存的附件")
        verbose_name_plural = _("暂存的附件")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name
