from django.core.management.base import BaseCommand

from feedback import retention


class Command(BaseCommand):
    help = ("Anonymise the personal data of archived cases past their retention period "
            "(the same service Celery beat runs nightly).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="only count what a run would anonymise now")

    def handle(self, *args, dry_run: bool = False, **options):
        if dry_run:
            due = retention.count_due()
            self.stdout.write(f"{due.cases} cases and {due.people} petitioners would be "
                              "anonymised (dry run: nothing changed)")
            return
        done = retention.anonymise_due()
        self.stdout.write(f"{done} cases anonymised")
