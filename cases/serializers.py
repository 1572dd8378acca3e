"""Strict JSON input for the API: exact types, unknown fields refused, the forms' lengths.

DRF's stock fields are lenient where a platform's bug should be loud: an IntegerField
takes 10.7 as 10 and "10" as 10, a CharField takes 12 as "12", a BooleanField takes
"yes", and a serializer drops keys it does not know (a typo `categroy` became a silent
default). These refuse instead, naming the field.
"""

from collections.abc import Mapping

from django import forms
from django.utils.choices import CallableChoiceIterator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

UNKNOWN_FIELD = _("未知字段。")


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not declare (each named: "未知字段。")."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: [UNKNOWN_FIELD] for key in unknown})
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: not 10.7, not "10", not true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string (DRF turns 12 into "12"); NUL and lone surrogates refused as DRF does."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false (DRF also takes "yes", "on", 1)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, given as a JSON string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A row's id as a JSON integer (10.7 used to find row 10)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class StrictDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        return super().to_internal_value(value)


def form_length(form_class, name: str) -> int:
    """The max_length of a form's field: the API accepts what the page accepts, no more."""
    return form_class.base_fields[name].max_length


# ---------------------------------------------------------------- a form's fields as JSON
def _choices(field) -> list:
    flat = []
    for value, label in field.choices:
        if isinstance(label, (list, tuple)):  # an optgroup
            flat.extend(inner for inner, _label in label)
        else:
            flat.append(value)
    return [value for value in flat if value not in ("", None)]


def json_field_for(field: forms.Field) -> serializers.Field | None:
    """The strict JSON counterpart of one form field (None: not sent as JSON, e.g. files)."""
    from .forms import YesNoField

    required = field.required
    common = {"required": required, "help_text": str(field.label or "") or None}
    optional = {} if required else {"allow_null": True}
    if isinstance(field, (forms.FileField,)):
        return None
    if isinstance(field, YesNoField):
        return StrictBooleanField(**common, **optional)
    if isinstance(field, forms.BooleanField):
        return StrictBooleanField(required=False, help_text=common["help_text"])
    if isinstance(field, forms.ModelMultipleChoiceField):
        return serializers.ListField(child=StrictIntegerField(), allow_empty=not required,
                                     **common)
    if isinstance(field, forms.ModelChoiceField):
        return StrictIntegerField(**common, **optional)
    if isinstance(field, forms.MultipleChoiceField):
        if isinstance(field, forms.TypedMultipleChoiceField) and field.coerce is int:
            child = StrictIntegerField()
        elif isinstance(field.choices, CallableChoiceIterator) or not _choices(field):
            child = StrictCharField()
        else:
            child = StrictChoiceField(choices=_choices(field))
        return serializers.ListField(child=child, allow_empty=not required, **common)
    if isinstance(field, forms.ChoiceField):
        if isinstance(field, forms.TypedChoiceField) and field.coerce is int:
            return StrictIntegerField(**common, **optional)
        if isinstance(field.choices, CallableChoiceIterator) or not _choices(field):
            # Choices read from the database (a department, a person): the form checks them.
            return StrictCharField(allow_blank=not required, **common, **optional)
        return StrictChoiceField(choices=_choices(field), allow_blank=not required,
                                 **common, **optional)
    if isinstance(field, forms.IntegerField):
        return StrictIntegerField(min_value=field.min_value, max_value=field.max_value,
                                  **common, **optional)
    if isinstance(field, forms.DateTimeField):
        return StrictDateTimeField(**common, **optional)
    if isinstance(field, forms.DateField):
        return serializers.DateField(**common, **optional)
    if isinstance(field, forms.EmailField):
        return StrictEmailField(max_length=field.max_length, allow_blank=not required,
                                **common, **optional)
    if isinstance(field, forms.UUIDField):
        return serializers.UUIDField(**common, **optional)
    return StrictCharField(max_length=getattr(field, "max_length", None),
                           allow_blank=not required, trim_whitespace=False,
                           **common, **optional)


def serializer_for_fields(name: str, fields: Mapping[str, forms.Field]) -> type:
    """A StrictSerializer class with the JSON counterparts of a form's fields."""
    declared = {}
    for field_name, field in fields.items():
        json_field = json_field_for(field)
        if json_field is not None:
            declared[field_name] = json_field
    return type(name, (StrictSerializer,), declared)


# ---------------------------------------------------------------- the one error shape
class ErrorSerializer(serializers.Serializer):
    """Every error answer (400, 401, 403, 404, 405, 409, 413, 415, 429): `detail` says what
    went wrong in a sentence; `errors` names the fields (nested ones dotted:
    `petitioner.phone`), each with its messages."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   required=False)
    conflict = serializers.BooleanField(required=False,
                                        help_text="409: the request contradicts the record")
    transitions = serializers.ListField(child=serializers.CharField(), required=False,
                                        help_text="404 for an unknown act: the known ones")
