from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("案件")

    def ready(self) -> None:
        from . import bulk  # noqa: F401  (registers the in_batch lookup)
        from . import checks  # noqa: F401  (registers the system checks)
        from . import reference
        from .models import CalendarDay, Category, ChannelPolicy, Department, TierPolicy

        reference.connect(CalendarDay, Category, ChannelPolicy, Department, TierPolicy)
