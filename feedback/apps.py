from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("答复回访")

    def ready(self) -> None:
        from .acts import register_all

        register_all()
        # Every petitioner answered: petitioners_answered and the merged petitioners'
        # verdicts, on the main case (feedback.merged).
        from oversight.figures import FACT_EXTENSIONS

        from .merged import petitioner_facts

        if petitioner_facts not in FACT_EXTENSIONS:
            FACT_EXTENSIONS.append(petitioner_facts)
