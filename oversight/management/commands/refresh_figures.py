from django.core.management.base import BaseCommand

from oversight import figures


class Command(BaseCommand):
    help = ("Bring the summary tables up to date: count the queued cases again (what the "
            "Celery task does every half minute), or --rebuild everything from the cases.")

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true",
                            help="empty the summary and count every case again")

    def handle(self, *args, rebuild: bool = False, **options):
        if rebuild:
            self.stdout.write(f"{figures.rebuild_figures()} cases counted from scratch")
        else:
            self.stdout.write(f"{figures.refresh_figures()} cases counted again")
