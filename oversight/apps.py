from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = _("督查督办")

    def ready(self) -> None:
        from cases.dossier import register_part

        from . import signals  # noqa: F401
        from .acts import register_all
        from .documents import dossier_part

        register_all()
        register_part(dossier_part)
