from cases.roles import Role, has_role

from .dashboard import can_see_dashboard
from .selectors import unanswered_count


def navigation(request) -> dict:
    """The supervision-order link, with the count waiting for the person's department."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_sees_orders": has_role(user, Role.SUPERVISOR, Role.DISPATCHER, Role.HANDLER,
                                    Role.DEPARTMENT_HEAD, Role.ADMINISTRATOR),
        "nav_orders_waiting": unanswered_count(user),
        "nav_sees_dashboard": can_see_dashboard(user),
    }
