import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from oversight import figures


class Command(BaseCommand):
    help = ("Bring the summary tables up to date: count the queued cases again (what the "
            "Celery task does every half minute), or --rebuild everything from the cases "
            "(--workers N: in N processes).")

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true",
                            help="count every case again and make the summary from that")
        parser.add_argument("--workers", type=int, default=None,
                            help="with --rebuild: processes counting at once (default 1; "
                                 "PostgreSQL only above 1)")

    def handle(self, *args, rebuild: bool = False, workers: int | None = None, **options):
        if not rebuild:
            if workers is not None:
                raise CommandError(_("--workers 只用于重建：请与 --rebuild 一起使用。"))
            self.stdout.write(f"{figures.refresh_figures()} cases counted again")
            return
        started = time.monotonic()
        try:
            rebuilt = figures.rebuild_figures(workers=1 if workers is None else workers,
                                              progress=Progress(self.stdout, started))
        except figures.RebuildError as error:
            raise CommandError(str(error)) from None
        seconds = time.monotonic() - started
        rate = f"{rebuilt.counted / seconds:,.0f}" if seconds else "-"
        self.stdout.write(f"{rebuilt.counted} cases counted from scratch in {seconds:.0f} s "
                          f"({rate} cases/s); {rebuilt.recounted} changed meanwhile or "
                          f"queued, counted again after")


class Progress:
    """Cases counted, rate and time left, at most every few seconds."""

    every_seconds = 5

    def __init__(self, out, started: float):
        self.out, self.started, self.last = out, started, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done and done < total and now - self.last < self.every_seconds:
            return
        self.last = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed and done else 0
        left = f"{(total - done) / rate:,.0f} s" if rate else "?"
        share = f"{100 * done / total:.0f}%" if total else "100%"
        self.out.write(f"{done:,} / {total:,} cases ({share}), {rate:,.0f} cases/s, "
                       f"about {left} left")
