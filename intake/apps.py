from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = _("登记受理")

    def ready(self) -> None:
        from .acts import register_all

        register_all()
        from cases import reference

        from .models import Platform, SafetyPhrase

        reference.connect(SafetyPhrase, Platform)
        from cases.models import EVENT_LISTENERS

        from .callbacks import after_event

        if after_event not in EVENT_LISTENERS:
            EVENT_LISTENERS.append(after_event)
        from django.db.models.signals import post_save

        from .callbacks import platform_saved

        post_save.connect(platform_saved, sender=Platform, dispatch_uid="platform-saved")
        from cases.roles import Role
        from cases.selectors import register_visibility

        from .platforms import platform_visibility

        register_visibility(Role.PLATFORM, platform_visibility)
