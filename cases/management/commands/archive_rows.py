from django.core.management.base import BaseCommand, CommandError

from cases import archive


def positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数，现为 {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，现为 {text!r}")
    return value


class Command(BaseCommand):
    help = ("Delete what the office no longer keeps (read and old notifications, sent outbox "
            "rows, the history of long-archived cases, exported first), in batches; or, with "
            "--export-events, copy one month's archived cases' events for the archives. The "
            "same service Celery beat runs nightly (cases.tasks.archive_rows).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="only count what a run would do now; nothing changes")
        parser.add_argument("--only", action="append", choices=archive.PARTS, dest="parts",
                            help="only this part (may be given again)")
        parser.add_argument("--batch-size", type=positive, metavar="ROWS",
                            help="rows per transaction (default ARCHIVE_BATCH_SIZE, 2000)")
        parser.add_argument("--folder", metavar="DIR",
                            help="where exports are written (default ARCHIVE_DIR, "
                                 "var/archive)")
        parser.add_argument("--drop-history", action="store_true",
                            help="delete the history of long-archived cases without "
                                 "exporting it")
        parser.add_argument("--max-seconds", type=positive, metavar="SECONDS",
                            help="stop after the batch that passes this long (the next run "
                                 "goes on)")
        parser.add_argument("--export-events", metavar="YYYY-MM",
                            help="copy the events of the cases archived in this month "
                                 "(nothing is deleted) and do nothing else")

    def handle(self, *args, dry_run=False, parts=None, batch_size=None, folder=None,
               drop_history=False, max_seconds=None, export_events=None, **options):
        try:
            policy = archive.Policy.from_settings(
                folder=folder, batch_size=batch_size,
                export_history=False if drop_history else None)
            if export_events is not None:
                if parts or drop_history or max_seconds:
                    raise archive.ArchiveError(
                        "--export-events 只导出记录，不能与 --only、--drop-history、"
                        "--max-seconds 同用")
                self._events(archive.export_events(month=export_events, policy=policy,
                                                   dry_run=dry_run))
                return
            self._run(archive.run(policy=policy, dry_run=dry_run, parts=parts or archive.PARTS,
                                  seconds=max_seconds), policy)
        except archive.ArchiveError as error:
            raise CommandError(str(error)) from error

    def _run(self, tally: archive.Tally, policy: archive.Policy) -> None:
        verb = "将删除" if tally.dry_run else "已删除"
        write = self.stdout.write
        if "notifications" in tally.parts:
            write(f"已读通知（阅读后超过 {policy.notification_read_days} 天）：{verb} "
                  f"{tally.notifications_read} 条")
            write(f"通知（超过 {policy.notification_days} 天）：{verb} "
                  f"{tally.notifications_aged} 条；随通知{verb}其邮件副本 "
                  f"{tally.notification_copies} 条")
        if "deliveries" in tally.parts:
            write(f"待发消息（已发送或发送失败超过 {policy.delivery_days} 天）：{verb} "
                  f"{tally.deliveries} 条")
        if "history" in tally.parts:
            how = ("导出后" if tally.history_exported else "不导出直接") + verb
            write(f"案件历史版本（归档超过 {policy.history_days} 天）：{how} {tally.history} 条")
            for month, count in sorted(tally.history_by_month.items()):
                write(f"  {month} 归档的案件：{count} 条")
            for path in tally.files:
                write(f"  {path}")
        if tally.dry_run:
            write("（试运行：未作任何改动）")
        elif not tally.finished:
            write("已到运行时限，其余留待下次运行。")

    def _events(self, tally: archive.EventExport) -> None:
        write = self.stdout.write
        if tally.dry_run:
            write(f"{tally.month} 归档的案件 {tally.cases} 件、记录 {tally.events} 条将被导出"
                  "（试运行：未写任何文件）")
            return
        write(f"{tally.month} 归档的案件 {tally.cases} 件、记录 {tally.events} 条已导出"
              "（数据库中的记录不变）：")
        for path in tally.files:
            write(f"  {path}")
        if tally.breaks:
            write(f"其中 {len(tally.breaks)} 件案件的记录链断裂（已照原样导出）：")
            for broken in tally.breaks:
                write("\n".join(broken.lines()))
        else:
            write("每件案件的记录链完整。")
