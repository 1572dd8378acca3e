from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("答复回访")

    def ready(self) -> None:
        from .acts import register_all

        register_all()
