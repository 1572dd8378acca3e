from django.core.management.base import BaseCommand

from oversight import services


class Command(BaseCommand):
    help = "One run of the deadline sweep (the same service Celery beat runs every minute)."

    def handle(self, *args, **options):
        taken = services.sweep_deadlines()
        self.stdout.write(f"{taken} escalation steps taken")
