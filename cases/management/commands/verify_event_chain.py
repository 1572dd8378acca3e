from django.core.management.base import BaseCommand, CommandError

from cases import chain
from cases.models import Case


class Command(BaseCommand):
    help = ("Check the chain of every case's events (or of the cases named) and name the "
            "first broken link of each case; exits with status 1 when any link is broken.")

    def add_arguments(self, parser):
        parser.add_argument("--case", action="append", dest="numbers", metavar="NUMBER",
                            help="only this case (XF-2026-000001); may be given again")
        parser.add_argument("--batch-size", type=int, default=500,
                            help="cases read at a time (default 500)")

    def handle(self, *args, numbers=None, batch_size: int = 500, **options):
        cases = None
        if numbers:
            cases = Case.objects.filter(number__in=numbers)
            unknown = sorted(set(numbers) - set(cases.values_list("number", flat=True)))
            if unknown:
                raise CommandError("没有这些案件：" + "、".join(unknown))

        def tell(broken: chain.Break) -> None:
            self.stdout.write("\n".join(broken.lines()))

        tally = chain.verify(cases=cases, batch_size=batch_size, on_break=tell)
        summary = f"共检查 {tally.cases} 件案件、{tally.events} 条记录"
        if tally.breaks:
            self.stdout.write(f"{summary}；{len(tally.breaks)} 件案件的记录链断裂。")
            raise CommandError(f"记录链校验未通过：{len(tally.breaks)} 件案件", returncode=1)
        self.stdout.write(f"{summary}；记录链完整。")
