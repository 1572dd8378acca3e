"""What every app's views do with a refused act: put the message where the person reads it."""

from django.core.exceptions import ValidationError


def error_message(error: Exception) -> str:
    """The readable text of a domain error, a ValidationError or a PermissionDenied."""
    if getattr(error, "message", None) and not isinstance(error, ValidationError):
        return str(error.message)
    if isinstance(error, ValidationError):
        return "；".join(error.messages)
    return str(error)


def attach_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form fields it names (else on the form)."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)
