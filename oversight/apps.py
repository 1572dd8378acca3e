from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = _("督查督办")

    def ready(self) -> None:
        from .acts import register_all

        register_all()
