from django.conf import settings

from .calendar import missing_calendar_years
from .selectors import unread_notification_count
from .roles import OFFICE_ROLES, Role, has_role, primary_role, roles_of


def navigation(request) -> dict:
    """The roles of the signed-in person, for the navigation bar and banners."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"office_name": settings.OFFICE_NAME}
    is_administrator = has_role(user, Role.ADMINISTRATOR)
    return {
        "office_name": settings.OFFICE_NAME,
        "nav_roles": [Role(role).label for role in sorted(roles_of(user))],
        "nav_primary_role": primary_role(user),
        "nav_is_administrator": is_administrator,
        "nav_is_office": has_role(user, *OFFICE_ROLES),
        "nav_is_dispatcher": has_role(user, Role.DISPATCHER),
        "nav_is_supervisor": has_role(user, Role.SUPERVISOR),
        "nav_can_browse_archive": has_role(user, Role.CLERK, Role.SUPERVISOR, Role.ADMINISTRATOR),
        "nav_is_reviewer": has_role(user, Role.DEPARTMENT_HEAD, Role.DISPATCHER, Role.SUPERVISOR),
        "nav_is_department": has_role(user, Role.HANDLER, Role.DEPARTMENT_HEAD),
        "nav_unread": unread_notification_count(user),
        # Administrators are told, on every page, of years with no holiday calendar.
        "calendar_gap_years": missing_calendar_years() if is_administrator else [],
    }
