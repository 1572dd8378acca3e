"""The office's staff roles. Each role is a Django group whose name is the role's value."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CLERK = "clerk", _("接待登记员")
    DISPATCHER = "dispatcher", _("派单员")
    HANDLER = "handler", _("承办人")
    DEPARTMENT_HEAD = "department_head", _("部门负责人")
    SUPERVISOR = "supervisor", _("督办人员")
    ADMINISTRATOR = "administrator", _("系统管理员")
    # Not a person: the account of a system sending cases through the API (intake.Platform).
    PLATFORM = "platform", _("对接平台")


# The order in which a person holding several roles is greeted.
ROLE_PRIORITY = [
    Role.SUPERVISOR,
    Role.DISPATCHER,
    Role.DEPARTMENT_HEAD,
    Role.HANDLER,
    Role.CLERK,
    Role.ADMINISTRATOR,
]

# Office staff act for the office itself: intake outcomes, replies, return visits, archive.
OFFICE_ROLES = frozenset({Role.CLERK, Role.DISPATCHER})


class VerifiedPetitioner:
    """The member of the public who proved a case is theirs (its number plus their phone).

    Acts only on that case, and only where a transition allows it (rating the reply).
    """

    is_authenticated = False
    is_active = False
    pk = None

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id

    def __repr__(self) -> str:
        return f"VerifiedPetitioner(case_id={self.case_id})"


def is_petitioner_of(user, case) -> bool:
    return isinstance(user, VerifiedPetitioner) and user.case_id == case.pk


def roles_of(user) -> frozenset[str]:
    """The user's roles, read once per user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_petition_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMINISTRATOR)
        cached = frozenset(name for name in names if name in Role.values)
        user._petition_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def primary_role(user) -> str | None:
    held = roles_of(user)
    return next((role for role in ROLE_PRIORITY if role in held), None)


def department_ids_of(user) -> frozenset[int]:
    """Departments the user works in, as member or head, read once per user object."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_petition_departments", None)
    if cached is None:
        member = set(user.departments.values_list("pk", flat=True))
        headed = frozenset(user.headed_departments.values_list("pk", flat=True))
        cached = frozenset(member | headed)
        user._petition_departments = cached
        user._petition_headed = headed  # read already: headed_department_ids_of
    return cached


def headed_department_ids_of(user) -> frozenset[int]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_petition_headed", None)
    if cached is None:
        cached = frozenset(user.headed_departments.values_list("pk", flat=True))
        user._petition_headed = cached
    return cached


def role_required(*roles: str) -> Callable:
    """View decorator: signed in and holding one of the roles, else 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
