"""Platforms as clients of the API: their keys, their throttle, the cases they may see,
and registration under a platform's ticket (one case per ticket and platform)."""

import hashlib
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.throttling import SimpleRateThrottle

from cases import reference
from cases.models import Case
from cases.roles import Role

from .models import Platform, PlatformAPIKey, PlatformCase

KEYWORD = "Api-Key"


# ---------------------------------------------------------------- who is calling
class PlatformKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <prefix.secret>`: the key's hash is checked (only the hash is
    kept), a revoked or expired key or an inactive platform is refused (401), and the
    request acts as the platform's account (request.auth is the key)."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Api-Key 请求头格式应为：Api-Key <密钥>。"))
        try:
            key = parts[1].decode("ascii")
            api_key = PlatformAPIKey.objects.get_from_key(key)
        except (UnicodeDecodeError, PlatformAPIKey.DoesNotExist):
            raise exceptions.AuthenticationFailed(_("密钥无效或已吊销。")) from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("密钥已过期。"))
        platform = api_key.platform
        account = platform.account
        if not platform.is_active or account is None or not account.is_active:
            raise exceptions.AuthenticationFailed(_("该平台已停用。"))
        return account, api_key

    def authenticate_header(self, request) -> str:
        return KEYWORD


class PlatformKeyThrottle(SimpleRateThrottle):
    """Each key its own budget (settings.PLATFORM_RATE, e.g. "600/min"); staff tokens are
    not throttled here."""

    scope = "platform"

    def get_rate(self):
        return settings.PLATFORM_RATE

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, PlatformAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}


def platform_of(user) -> Platform | None:
    """The platform this account belongs to (None for staff), from the held table of
    platforms (cases.reference: a platform saved anywhere is seen at once)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    by_account = reference.held("platforms-by-account", lambda: {
        platform.account_id: platform
        for platform in Platform.objects.filter(account__isnull=False)})
    return by_account.get(user.pk)


def platform_visibility(user) -> Q:
    """A platform sees the cases it sent, or every case when granted (sees_all_cases)."""
    platform = platform_of(user)
    if platform is None or not platform.is_active:
        return Q(pk__in=[])
    if platform.sees_all_cases:
        return ~Q(pk__in=[])
    return Q(platform_link__platform=platform)


# ---------------------------------------------------------------- the account
def ensure_account(platform: Platform) -> Platform:
    """Give the platform its account (the user its acts are recorded under) if it has
    none: no password, the platform role."""
    if platform.account_id is None:
        users = get_user_model()
        account, _created = users.objects.get_or_create(
            username=f"platform-{platform.code}",
            defaults={"first_name": platform.name[:150], "is_staff": False})
        account.set_unusable_password()
        account.save()
        platform.account = account
        platform.save(update_fields=["account"])
    group, _created = Group.objects.get_or_create(name=Role.PLATFORM)
    platform.account.groups.add(group)
    return platform


# ---------------------------------------------------------------- the request's identity
def fingerprint(user, data) -> str:
    """The sha256 of the canonical body (keys sorted, request_id left out) and its sender:
    the same request_id with another body is a conflict."""
    body = {key: value for key, value in data.items() if key != "request_id"} \
        if isinstance(data, dict) else data
    canonical = json.dumps({"by": getattr(user, "pk", None), "body": body}, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# ---------------------------------------------------------------- registration
def case_of_ticket(platform: Platform, ticket: str) -> Case | None:
    link = (PlatformCase.objects.select_related("case").filter(platform=platform, ticket=ticket)
            .first())
    return link.case if link else None


def register_from_platform(*, platform: Platform, ticket: str, register) -> tuple[Case, bool]:
    """Register the platform's ticket once: (the case, whether it was made now).

    `register()` makes the case (intake.services.register_intake); it runs in a savepoint
    with the PlatformCase row, so that when two posts of one ticket race, the second waits
    on the unique index, rolls its own case back and answers the first one's.
    """
    if not ticket:
        raise ValidationError({"external_reference": _("平台报送的案件须填写平台工单号。")})
    existing = case_of_ticket(platform, ticket)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            case = register()
            if getattr(case, "is_repeat", False):  # the same request_id again
                return case, False
            PlatformCase.objects.create(case=case, platform=platform, ticket=ticket)
            # Acts made in the same request (register and accept) before the link.
            from .callbacks import catch_up

            catch_up(case)
    except IntegrityError:
        existing = case_of_ticket(platform, ticket)
        if existing is None:
            raise
        return existing, False
    return case, True


# ---------------------------------------------------------------- the schema
class PlatformKeyScheme(OpenApiAuthenticationExtension):
    target_class = "intake.platforms.PlatformKeyAuthentication"
    name = "platformKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "Api-Key <key> (a platform's key, from the admin)"}
