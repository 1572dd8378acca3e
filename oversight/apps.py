from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = _("督查督办")

    def ready(self) -> None:
        from . import appeals, complaints, figures
        from .acts import register_all

        register_all()
        for extension in (complaints.complaint_facts, appeals.appeal_facts):
            if extension not in figures.FACT_EXTENSIONS:
                figures.FACT_EXTENSIONS.append(extension)
        complaints.register_rates()
        # The closing stage's counters (visits, final results): oversight reads feedback,
        # never the other way round.
        from feedback.figures import visit_and_final_facts

        from .figures import FACT_EXTENSIONS

        if visit_and_final_facts not in FACT_EXTENSIONS:
            FACT_EXTENSIONS.append(visit_and_final_facts)
