from html import escape

from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from cases.models import Department, Finding, Tier
from cases.forms import MultipleFileField, ReasonForm, YesNoField
from cases.parsing import validate_date_in_range

from .selectors import INBOX_STATES, InboxFilters


def _attributes(attrs: dict) -> str:
    """As django/forms/widgets/attrs.html writes them."""
    return "".join(f" {name}" if value is True else f' {name}="{escape(str(value))}"'
                   for name, value in attrs.items() if value is not False)


class WrittenSelect(forms.Select):
    """A <select> with Django's markup, written in Python rather than through one widget
    template per option: the inbox's filters list some ninety options (the categories
    alone seventy), which took about 5 ms a page through the templates."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{escape(widget["name"])}"{_attributes(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{escape(str(group_name))}">')
            for option in options:
                parts.append(f'\n  <option value="{escape(str(option["value"]))}"'
                             f'{_attributes(option["attrs"])}>{escape(str(option["label"]))}'
                             "</option>\n")
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))


class InboxFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False, widget=WrittenSelect)
    tier = forms.ChoiceField(label=_("响应级别"), required=False, widget=WrittenSelect,
                             choices=[("", _("全部"))] + list(Tier.choices))
    category = forms.TypedChoiceField(label=_("问题分类"), required=False, coerce=int,
                                      empty_value=None, widget=WrittenSelect)
    handler = forms.TypedChoiceField(label=_("承办人"), required=False, coerce=int,
                                     empty_value=None, widget=WrittenSelect)
    overdue = forms.BooleanField(label=_("只看已超期"), required=False)
    due_soon = forms.BooleanField(label=_("只看即将到期"), required=False)
    mine = forms.BooleanField(label=_("只看我承办的"), required=False)

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        from cases.models import State
        from intake.forms import subcategory_choices

        self.fields["state"].choices = [("", _("全部"))] + [
            (s, State(s).label) for s in INBOX_STATES]
        self.fields["category"].choices = [("", _("全部"))] + subcategory_choices()[1:]
        self.fields["handler"].choices = [("", _("全部"))] + [
            (person.pk, person.get_full_name() or person.username) for person in staff]

    def filters(self) -> InboxFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return InboxFilters(**{key: data.get(key) or default
                               for key, default in InboxFilters().__dict__.items()})


class AssignForm(forms.Form):
    """分派: one of the lead department's active members."""

    takes_case = True
    handler = forms.TypedChoiceField(label=_("承办人"), coerce=int)

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        people = get_user_model().objects.filter(
            is_active=True, departments=case.lead_department_id).order_by("username") \
            if case is not None else []
        self.fields["handler"].choices = [
            (person.pk, person.get_full_name() or person.username) for person in people]


class DispatchForm(forms.Form):
    category = forms.TypedChoiceField(label=_("问题分类"), coerce=int, empty_value=None,
                                      required=False)
    tier = forms.ChoiceField(label=_("响应级别"), required=False,
                             choices=[("", _("不变"))] + list(Tier.choices))
    tier_change_reason = forms.CharField(label=_("调整级别的理由"), required=False,
                                         max_length=500)
    mode = forms.ChoiceField(label=_("办理方式"), widget=forms.RadioSelect)
    lead_department = forms.TypedChoiceField(label=_("主办部门"), coerce=int, empty_value=None,
                                             required=False)
    assisting_departments = forms.TypedMultipleChoiceField(
        label=_("协办部门"), coerce=int, required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}))
    note = forms.CharField(label=_("交办意见"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, modes=None, **kwargs):
        super().__init__(*args, **kwargs)
        from cases.models import Department, HandlingMode
        from intake.forms import subcategory_choices

        self.fields["category"].choices = subcategory_choices()
        # Only the modes the table of acts allows this person now (a returned case can be
        # dispatched again, not handled directly).
        self.fields["mode"].choices = [(value, label) for value, label in HandlingMode.choices
                                       if modes is None or value in modes]
        departments = [(d.pk, d.name) for d in Department.objects.filter(
            is_active=True, is_office=False).order_by("code")]
        self.fields["lead_department"].choices = [("", "—")] + departments
        self.fields["assisting_departments"].choices = departments


class DispatchActForm(DispatchForm):
    """The same fields for one mode (the act names it): 交办, 直办 or 呈办."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["mode"]


class ChangeTierForm(forms.Form):
    """调整响应级别: the new tier, and why (the case's current tier shown beside it)."""

    takes_case = True
    tier_code = forms.ChoiceField(label=_("调整为"), choices=Tier.choices)
    reason = forms.CharField(label=_("调整级别的理由"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None and case.tier_id:
            self.fields["tier_code"].help_text = _("现为 %(tier)s") % {"tier": case.tier}


class ChangeLeadDepartmentForm(forms.Form):
    """改派: another active department (not the office: 直办 is chosen at dispatch)."""

    takes_case = True
    lead_department = forms.TypedChoiceField(label=_("改派至"), coerce=int)
    reason = forms.CharField(label=_("改派理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from cases.models import Department

        departments = Department.objects.filter(is_active=True, is_office=False)
        if case is not None and case.lead_department_id:
            departments = departments.exclude(pk=case.lead_department_id)
            self.fields["lead_department"].help_text = _("现由%(department)s主办") % {
                "department": case.lead_department.name}
        self.fields["lead_department"].choices = [("", "—")] + [
            (department.pk, department.name) for department in departments.order_by("code")]


class _MarkForm(forms.Form):
    """A yes/no mark and why; it starts at the opposite of the case's mark (the change)."""

    takes_case = True
    mark = ""

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None:
            self.fields[self.mark].initial = "no" if getattr(case, self.mark) else "yes"


class SensitiveForm(_MarkForm):
    mark = "is_sensitive"
    is_sensitive = YesNoField(label=_("舆情风险"), widget=forms.RadioSelect,
                              yes=_("有舆情风险"), no=_("无舆情风险"))
    reason = forms.CharField(label=_("理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ConfidentialForm(_MarkForm):
    mark = "is_confidential"
    is_confidential = YesNoField(label=_("保密"), widget=forms.RadioSelect,
                                 yes=_("保密（不向承办部门显示信访人身份）"), no=_("不保密"))
    reason = forms.CharField(label=_("理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(forms.Form):
    kind = forms.ChoiceField(label=_("类别"))
    text = forms.CharField(label=_("内容"), max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    contact_method = forms.ChoiceField(label=_("联系方式"), required=False)
    reached = YesNoField(label=_("是否联系上"), required=False, blank=True,
                         yes=_("联系上"), no=_("未联系上"))
    happened_at = forms.DateTimeField(label=_("时间"), required=False,
                                      validators=[validate_date_in_range],
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import ContactMethod, NoteKind

        self.fields["kind"].choices = NoteKind.choices
        self.fields["contact_method"].choices = [("", "—")] + list(ContactMethod.choices)


class ExtensionForm(forms.Form):
    reason = forms.CharField(label=_("延期理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    requested_due_at = forms.DateTimeField(
        label=_("申请延至"), validators=[validate_date_in_range],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class ResultForm(forms.Form):
    findings = forms.CharField(label=_("调查核实情况"), max_length=5000,
                               widget=forms.Textarea(attrs={"rows": 3}))
    opinion = forms.CharField(label=_("处理意见"), max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 2}))
    result = forms.CharField(label=_("办理结果"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    is_solved = YesNoField(label=_("问题是否已解决"), widget=forms.RadioSelect,
                           yes=_("已解决"), no=_("未解决"))
    finding = forms.ChoiceField(
        label=_("核查结论"), required=False, widget=forms.RadioSelect,
        choices=Finding.choices,
        help_text=_("投诉了具体单位、科室或人员的，须填写核查结论（属实、部分属实、不属实）。"))


class ComplainedPartyForm(forms.Form):
    """更正被投诉单位、科室、人员 (the dispatcher or the office), with a reason."""

    complained_department = forms.ModelChoiceField(
        label=_("被投诉单位"), required=False,
        queryset=Department.objects.filter(is_active=True).order_by("code"))
    complained_section = forms.CharField(label=_("被投诉科室"), max_length=100, required=False)
    complained_person = forms.CharField(label=_("被投诉人员"), max_length=50, required=False)
    reason = forms.CharField(label=_("理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))

    takes_case = True

    def __init__(self, *args, case=None, user=None, **kwargs):
        if case is not None and not args:
            kwargs.setdefault("initial", {
                "complained_department": case.complained_department_id,
                "complained_section": case.complained_section,
                "complained_person": case.complained_person})
        super().__init__(*args, **kwargs)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("审核意见"), widget=forms.RadioSelect,
                                 choices=[("approve", _("审核通过")), ("send_back", _("退回重办"))])
    note = forms.CharField(label=_("意见"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class SendBackForm(forms.Form):
    note = forms.CharField(label=_("退回意见"), max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}))


class DecisionForm(forms.Form):
    """审批延期. On a case's act page it says what was asked and whether it is beyond the
    tier's limit of extensions (then only a supervisor decides)."""

    takes_case = True
    decision = forms.ChoiceField(label=_("审批结果"), widget=forms.RadioSelect,
                                 choices=[("approve", _("同意延期")), ("refuse", _("不同意"))])
    note = forms.CharField(label=_("审批意见（信访办内部，不告知信访人）"), required=False,
                           max_length=2000, help_text=_("不同意时须填写。"))
    told_reason = forms.CharField(
        label=_("告知信访人的延期理由"), required=False, max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("同意时以信访人选择的方式告知信访人（邮件、短信、书面或电话），进度查询页同样显示；"
                    "留空则告知申请理由。"))

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None:
            from .selectors import pending_extension_summary

            self.fields["decision"].help_text = pending_extension_summary(case)


class InstructionForm(forms.Form):
    instruction = forms.CharField(label=_("批示"), max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class AttachmentForm(forms.Form):
    files = MultipleFileField(label=_("办理材料"), help_text=_("PDF、JPEG 或 PNG"))


class ShareAttachmentForm(forms.Form):
    """提供附件给部门: a file of a confidential petitioner's case cleared as it is, or a
    redacted copy uploaded in its place."""

    takes_case = True
    attachment = forms.TypedChoiceField(label=_("附件"), coerce=int)
    redacted = forms.FileField(label=_("脱敏件（可选）"), required=False,
                               help_text=_("上传去除姓名、电话、住址、签名后的文件；不上传则原件提供给部门。"))

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        files = unshared_attachments(case) if case is not None else []
        self.fields["attachment"].choices = [(item.pk, item.original_name) for item in files]


def unshared_attachments(case):
    from cases.models import AttachmentKind

    return case.attachments.filter(kind=AttachmentKind.INTAKE, cleared_for_departments=False,
                                   redacted_copies__isnull=True)


# ---------------------------------------------------------------- bulk acts
class CaseSelectionField(forms.Field):
    """The ticked rows: case ids, each once, at most settings.BULK_ACT_MAX_CASES. Which
    of them the person may act on is the selector's to say (the view asks it)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("请至少勾选一件案件。"),
        "invalid": _("所选案件无效，请刷新页面后重新勾选。"),
        "too_many": _("一次最多处理 %(limit)s 件案件，您勾选了 %(count)s 件。"),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return []
        values = value if isinstance(value, (list, tuple)) else [value]
        ids = []
        for item in values:
            text = str(item).strip()
            if not text.isascii() or not text.isdigit() or len(text) > 18:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            if int(text) not in ids:
                ids.append(int(text))
        return ids

    def validate(self, value):
        from django.conf import settings

        super().validate(value)
        limit = settings.BULK_ACT_MAX_CASES
        if len(value) > limit:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many",
                                        params={"limit": limit, "count": len(value)})


class BulkDispatchForm(forms.Form):
    """批量交办: the same lead department, assisting departments and note for every
    ticked case of the 待交办 list."""

    cases = CaseSelectionField(label=_("所选案件"))
    lead_department = forms.TypedChoiceField(
        label=_("主办部门"), coerce=int, empty_value=None,
        error_messages={"required": _("请选择主办部门。"),
                        "invalid_choice": _("主办部门不存在。")})
    assisting_departments = forms.TypedMultipleChoiceField(
        label=_("协办部门"), coerce=int, required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        error_messages={"invalid_choice": _("协办部门不存在。")})
    note = forms.CharField(label=_("交办意见"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "bulk_%s")  # the desk has other forms
        super().__init__(*args, **kwargs)
        departments = [(d.pk, d.name) for d in Department.objects.filter(
            is_active=True, is_office=False).order_by("code")]
        self.fields["lead_department"].choices = [("", "—")] + departments
        self.fields["assisting_departments"].choices = departments


class BulkAssignForm(forms.Form):
    """批量分派承办人: one of the department's active members for every ticked case."""

    department = forms.TypedChoiceField(
        label=_("部门"), coerce=int, widget=forms.HiddenInput,
        error_messages={"required": _("只能为您负责的部门分派承办人。"),
                        "invalid_choice": _("只能为您负责的部门分派承办人。")})
    cases = CaseSelectionField(label=_("所选案件"))
    handler = forms.TypedChoiceField(
        label=_("承办人"), coerce=int, empty_value=None,
        error_messages={"required": _("请选择承办人。"),
                        "invalid_choice": _("承办人须是本部门的在岗人员。")})

    def __init__(self, *args, departments=(), staff=(), **kwargs):
        """`departments`: those the person heads; `staff`: the chosen one's members."""
        kwargs.setdefault("auto_id", "bulk_%s")  # the inbox's filters have a handler too
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [(d.pk, d.name) for d in departments]
        self.fields["handler"].choices = [("", "—")] + [
            (person.pk, person.get_full_name() or person.username) for person in staff]
