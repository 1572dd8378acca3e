from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("派单办理")

    def ready(self) -> None:
        from .acts import register_all

        register_all()
        from cases import reference

        from .models import ResponsibilityEntry

        reference.connect(ResponsibilityEntry)
