"""Is this input well-formed? Each error is attached to the field it is about."""

from __future__ import annotations

import functools
import uuid

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy as _
from pypinyin import Style, lazy_pinyin

from cases.forms import MultipleFileField, ReasonForm
from cases.models import Category, Channel, Department, Gender, Tier
from cases.parsing import validate_date_in_range
from cases.validators import normalize_phone, validate_id_number, validate_phone

from .services import Outcome


class PhoneField(forms.CharField):
    default_validators = [validate_phone]

    def to_python(self, value):
        return normalize_phone(super().to_python(value))


def subcategory_choices():
    """Subcategories grouped under their category, for a <select> with optgroups."""
    groups: dict[str, list] = {}
    for pk, name, group in Category.objects.filter(
        parent__isnull=False, is_active=True
    ).order_by("parent__sort_order", "parent__name", "sort_order", "name").values_list(
        "pk", "name", "parent__name"
    ):
        groups.setdefault(group, []).append((pk, name))
    return [("", "—")] + [(group, options) for group, options in groups.items()]


@functools.lru_cache(maxsize=1024)
def pinyin_keys(name: str) -> tuple[str, str]:
    """The initials and the whole pinyin of a name ("占道经营" → "zdjy", "zhandaojingying"),
    for typing a category by its sound; other characters are kept as written."""
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"))
    spelled = "".join(lazy_pinyin(name, errors="default"))
    return initials.lower(), spelled.lower()


class CategorySelect(forms.Select):
    """A plain <select> (it works without JavaScript) whose options carry their pinyin, so
    that static/js/category-picker.js can find "占道经营" by "zdjy"."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value not in ("", None):
            initials, spelled = pinyin_keys(str(label))
            option["attrs"].update({"data-initials": initials, "data-pinyin": spelled})
        return option


class CategoryField(forms.TypedChoiceField):
    widget = CategorySelect

    def __init__(self, **kwargs):
        super().__init__(coerce=int, empty_value=None, choices=subcategory_choices, **kwargs)

    def clean(self, value):
        pk = super().clean(value)
        if pk is None:
            return None
        category = Category.objects.filter(pk=pk, is_active=True).first()
        if category is None:
            raise ValidationError(_("问题分类不存在。"), code="invalid_choice")
        return category


class PetitionerFieldsMixin(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    phone = PhoneField(label=_("联系电话"), max_length=30)


class RegistrationForm(PetitionerFieldsMixin):
    """The counter's form. The cursor starts at the phone: it brings up a known person."""

    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    channel = forms.ChoiceField(label=_("来源渠道"), choices=Channel.choices,
                                initial=Channel.VISIT)
    petitioner_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    gender = forms.ChoiceField(label=_("性别"), choices=Gender.choices, initial=Gender.UNKNOWN)
    age = forms.IntegerField(label=_("年龄"), required=False, min_value=0, max_value=130)
    occupation = forms.CharField(label=_("职业"), max_length=50, required=False)
    id_number = forms.CharField(label=_("身份证号码"), max_length=18, required=False,
                                validators=[validate_id_number])
    phone_alt = PhoneField(label=_("备用电话"), max_length=30, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    address = forms.CharField(label=_("住址"), max_length=200, required=False)
    wants_confidentiality = forms.BooleanField(label=_("要求保密"), required=False)

    summary = forms.CharField(label=_("诉求摘要"), max_length=200)
    content = forms.CharField(label=_("反映内容"), widget=forms.Textarea(attrs={"rows": 6}),
                              max_length=settings.CASE_CONTENT_MAX_CHARS)
    demands = forms.CharField(label=_("诉求"), widget=forms.Textarea(attrs={"rows": 2}),
                              required=False, max_length=2000)
    place = forms.CharField(label=_("问题发生地"), max_length=200, required=False)
    # Required to accept, unless a tier is chosen instead (see clean()): marked so.
    category = CategoryField(label=_("问题分类"), required=False,
                             help_text=_("受理时必选（或在登记结论中直接选择响应级别）；"
                                         "可输入名称或拼音首字母查找"))
    is_sensitive = forms.BooleanField(label=_("舆情风险"), required=False)
    is_collective = forms.BooleanField(label=_("集体访"), required=False)
    head_count = forms.IntegerField(label=_("来访人数"), required=False, min_value=2)
    representatives = forms.CharField(
        label=_("集体访代表"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一人：姓名 电话 身份证号（最多5人）"),
    )
    is_abnormal = forms.BooleanField(label=_("异常访"), required=False)
    earlier_case = forms.CharField(label=_("关联的前案编号"), max_length=24, required=False,
                                   help_text=_("填写后本案标记为重复访"))
    external_reference = forms.CharField(label=_("12345平台工单号"), max_length=64,
                                         required=False)
    platform_due_at = forms.DateTimeField(label=_("平台办结时限"), required=False,
                                          validators=[validate_date_in_range],
                                          widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    attachments = MultipleFileField(label=_("扫描件与材料"), required=False,
                                    help_text=_("PDF、JPEG 或 PNG，每个不超过 %(mb)s MB") % {
                                        "mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)})
    # The party complained about (投诉接待): staff data, shown to the office and the
    # department's head, never on public pages.
    complained_department = forms.ModelChoiceField(
        label=_("被投诉单位"), required=False,
        queryset=Department.objects.filter(is_active=True).order_by("code"))
    complained_section = forms.CharField(label=_("被投诉科室"), max_length=100, required=False)
    complained_person = forms.CharField(label=_("被投诉人员"), max_length=50, required=False,
                                        help_text=_("投诉具体工作人员时填写姓名（或工号）。"))

    outcome = forms.ChoiceField(
        label=_("登记结论"), widget=forms.RadioSelect, initial=Outcome.ACCEPT,
        choices=[(Outcome.ACCEPT, _("受理")), (Outcome.ANSWER, _("即办答复")),
                 (Outcome.REFUSE, _("不予受理")), (Outcome.MERGE, _("合并到前案")),
                 (Outcome.LEAVE, _("暂存，交派单员处理"))],
    )
    tier = forms.ChoiceField(label=_("响应级别"), required=False,
                             choices=[("", _("按分类默认"))] + list(Tier.choices))
    answer = forms.CharField(label=_("答复内容"), required=False,
                             widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    refusal_reason = forms.CharField(label=_("不予受理理由"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    refusal_guidance = forms.CharField(label=_("告知的途径"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}),
                                       max_length=2000)
    merge_into = forms.CharField(label=_("并入案件编号"), max_length=24, required=False)

    # Fields the form requires only for some outcomes, marked required on the page.
    marked_required = ("category",)
    # The fields in the order templates/intake/register.html shows them.
    page_order = ("channel", "external_reference", "platform_due_at", "phone", "id_number",
                  "name", "gender", "age", "occupation", "phone_alt", "email", "address",
                  "wants_confidentiality", "summary", "content", "demands", "place",
                  "category", "earlier_case", "is_sensitive", "is_collective", "head_count",
                  "representatives", "is_abnormal", "complained_department",
                  "complained_section", "complained_person", "attachments", "outcome", "tier",
                  "merge_into", "answer", "refusal_reason", "refusal_guidance")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.marked_required:
            self.fields[name].marked_required = True  # templates/_field.html stars it
            self.fields[name].widget.attrs["aria-required"] = "true"
        if not self.is_bound:
            self.fields["phone"].widget.attrs["autofocus"] = True

    def focus_first_error(self) -> str | None:
        """Put the cursor on the first field in error, in the page's order: without
        JavaScript the browser goes there on load (static/js/register.js scrolls too)."""
        names = [*self.page_order, *self.fields]
        first = next((name for name in names if name in self.errors and name in self.fields
                      and not self.fields[name].widget.is_hidden), None)
        if first:
            self.fields[first].widget.attrs["autofocus"] = True
        return first

    def submitted_token(self) -> uuid.UUID | None:
        """The form's token as sent, or None when it is not one (no file is kept then)."""
        try:
            return uuid.UUID(str(self.data.get(self.add_prefix("submission_token"), "")))
        except ValueError:
            return None

    def clean_earlier_case(self):
        from cases.models import Case

        number = self.cleaned_data["earlier_case"].strip().upper()
        if not number:
            return None
        case = Case.objects.filter(number=number).first()
        if case is None:
            raise ValidationError(_("没有编号为 %(number)s 的案件。") % {"number": number})
        return case

    def clean_representatives(self):
        people = []
        for line in self.cleaned_data["representatives"].splitlines():
            parts = line.split()
            if not parts:
                continue
            person = {"name": parts[0][:50], "phone": "", "id_number": ""}
            for part in parts[1:]:
                if len(part) == 18 and part[:17].isdigit():
                    validate_id_number(part)
                    person["id_number"] = part.upper()
                else:
                    validate_phone(part)
                    person["phone"] = normalize_phone(part)
            people.append(person)
        if len(people) > 5:
            raise ValidationError(_("集体访代表最多5人。"))
        return people

    def clean(self):
        data = super().clean()
        if data.get("is_collective") and not data.get("head_count"):
            self.add_error("head_count", _("集体访须填写来访人数（至少2人）。"))
        outcome = data.get("outcome")
        required_by_outcome = {
            Outcome.ANSWER: [("answer", _("即办答复须填写答复内容。"))],
            Outcome.REFUSE: [("refusal_reason", _("请填写不予受理的理由。")),
                             ("refusal_guidance", _("请告知信访人应当向哪里反映。"))],
            Outcome.MERGE: [("merge_into", _("请填写要并入的案件编号。"))],
        }
        for field, message in required_by_outcome.get(outcome, []):
            if not (data.get(field) or "").strip():
                self.add_error(field, message)
        if outcome == Outcome.ACCEPT and not data.get("category") and not data.get("tier"):
            self.add_error("category", _("受理前请选择问题分类，或直接选择响应级别。"))
        return data

    def petitioner_details(self) -> dict:
        keys = ("name", "gender", "age", "occupation", "id_number", "phone", "phone_alt",
                "email", "address", "wants_confidentiality")
        return {key: self.cleaned_data.get(key) for key in keys}

    def matter(self) -> dict:
        data = self.cleaned_data
        category = data.get("category")
        return {
            "channel": data["channel"], "summary": data["summary"], "content": data["content"],
            "demands": data.get("demands", ""), "place": data.get("place", ""),
            "category": category, "is_confidential": data.get("wants_confidentiality", False),
            "is_sensitive": data.get("is_sensitive", False),
            "is_collective": data.get("is_collective", False),
            "head_count": data.get("head_count"), "is_abnormal": data.get("is_abnormal", False),
            "earlier_case": data.get("earlier_case"),
            "external_reference": data.get("external_reference", ""),
            "platform_due_at": data.get("platform_due_at"),
            "complained_department": data.get("complained_department"),
            "complained_section": data.get("complained_section", ""),
            "complained_person": data.get("complained_person", ""),
        }


class PublicSubmissionForm(PetitionerFieldsMixin):
    """The public's web form. `website` is a honeypot: people never see or fill it."""

    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    email = forms.EmailField(label=_("电子邮箱（选填，用于接收答复）"), required=False)
    summary = forms.CharField(
        label=_("一句话说明您反映的问题"), max_length=200,
        # The summary is listed to the departments as written; the details are masked.
        help_text=_("这句话会显示在办理部门的案件列表中，请不要写姓名、电话等个人信息。"))
    content = forms.CharField(label=_("详细情况"), widget=forms.Textarea(attrs={"rows": 8}),
                              max_length=settings.CASE_CONTENT_MAX_CHARS)
    demands = forms.CharField(label=_("您的诉求"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    place = forms.CharField(label=_("问题发生地点"), max_length=200, required=False)
    category = CategoryField(label=_("问题类别（选填）"), required=False)
    attachments = MultipleFileField(label=_("相关材料（选填）"), required=False)
    wants_confidentiality = forms.BooleanField(
        label=_("要求对我的身份保密"), required=False,
        help_text=_("勾选后，您的姓名和联系方式只有信访办工作人员可见，不提供给办理部门。"))
    website = forms.CharField(required=False, label=_("请勿填写"),
                              widget=forms.TextInput(attrs={"autocomplete": "off",
                                                            "tabindex": "-1"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted here, in the language of the request.
        self.fields["attachments"].help_text = gettext(
            "PDF、JPEG 或 PNG，最多 %(n)s 个，每个不超过 %(mb)s MB") % {
                "n": settings.PUBLIC_ATTACHMENT_MAX_FILES, "mb": settings.PUBLIC_ATTACHMENT_MAX_MB}
        # What the person is told before giving their data (PIPL Art. 17): why it is
        # kept and for how long (Art. 19; feedback.retention anonymises it then).
        self.retention_notice = gettext(
            "您填写的姓名、电话、电子邮箱等个人信息，仅用于受理、办理、答复和回访您反映的事项"
            "（《个人信息保护法》第十七条）。案件归档后保存 %(years)s 年（个别问题类别另有规定），"
            "期满即匿名化处理，只留下不含个人信息的统计数据（第十九条）。"
            "您可以向信访办申请查阅、更正或删除您的个人信息。") % {
                "years": settings.RETENTION_YEARS}

    def is_spam(self) -> bool:
        return bool(self.data.get("website"))

    def petitioner_details(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "phone": data["phone"], "email": data.get("email", ""),
                "wants_confidentiality": data.get("wants_confidentiality", False)}

    def matter(self) -> dict:
        data = self.cleaned_data
        return {"summary": data["summary"], "content": data["content"],
                "demands": data.get("demands", ""), "place": data.get("place", ""),
                "category": data.get("category"),
                "is_confidential": data.get("wants_confidentiality", False)}


class TrackingForm(forms.Form):
    number = forms.CharField(label=_("案件编号"), max_length=24)
    code = forms.CharField(label=_("查询码"), max_length=20,
                           help_text=_("登记时告知您的 8 位查询码，印在受理告知书上"),
                           widget=forms.TextInput(attrs={"autocomplete": "off",
                                                         "autocapitalize": "characters"}))

    def clean_number(self):
        return self.cleaned_data["number"].strip().upper()


class CaseSearchForm(forms.Form):
    """找案件: one box for every staff role; what it looks for is told apart as typed, or
    chosen. Sent by POST: a name or a phone stays out of URLs and access logs."""

    q = forms.CharField(label=_("查找案件"), max_length=100,
                        help_text=_("编号、12345工单号、信访人姓名、电话，或反映内容、发生地点里的词语"),
                        error_messages={"required": _("请输入要查找的编号、姓名、电话或词语。")})
    kind = forms.ChoiceField(label=_("查找方式"), required=False, initial="auto")

    def __init__(self, *args, identity=True, **kwargs):
        from .selectors import IDENTITY_KINDS, SEARCH_KINDS

        super().__init__(*args, **kwargs)
        # A department may not list one person's cases: no name or phone to choose.
        self.fields["kind"].choices = [(key, label) for key, label in SEARCH_KINDS.items()
                                       if identity or key not in IDENTITY_KINDS]

    def clean_q(self) -> str:
        term = self.cleaned_data["q"].strip()
        if not term:
            raise ValidationError(_("请输入要查找的编号、姓名、电话或词语。"))
        return term

    def clean_kind(self) -> str:
        return self.cleaned_data["kind"] or "auto"


class QueueSearchForm(forms.Form):
    q = forms.CharField(label=_("按编号、工单号、姓名、电话或内容查找"), required=False,
                        max_length=100)


class LookupForm(forms.Form):
    """The counter's known-petitioner lookup (sent by POST: phones and ID numbers stay out
    of URLs and access logs)."""

    phone = forms.CharField(required=False, max_length=30)
    id_number = forms.CharField(required=False, max_length=18)
    text = forms.CharField(required=False, max_length=2000)


class ReissueQueryCodeForm(forms.Form):
    number = forms.CharField(label=_("案件编号"), max_length=24,
                             help_text=_("信访人遗失查询码时补发；原查询码随即失效。"))


# ---------------------------------------------------------------- the intake acts
class AcceptForm(forms.Form):
    tier_code = forms.ChoiceField(label=_("响应级别"), required=False,
                                  choices=[("", _("按分类默认"))] + list(Tier.choices))
    note = forms.CharField(label=_("受理说明"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("答复内容"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 5}))


class RefuseForm(forms.Form):
    reason = forms.CharField(label=_("不予受理理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))
    guidance = forms.CharField(label=_("告知的途径"), max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("告知信访人应当向哪个机关或通过什么途径反映。"))


class MergeForm(forms.Form):
    into_number = forms.CharField(label=_("并入案件编号"), max_length=24,
                                  help_text=_("例如 XF-2026-000123"))
    note = forms.CharField(label=_("说明"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class WithdrawForm(ReasonForm):
    pass
