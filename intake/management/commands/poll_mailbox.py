from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from intake import mail


class Command(BaseCommand):
    help = ("Take the new messages of the office's mailbox now (INTAKE_IMAP_URL), as the "
            "beat's intake.tasks.poll_mailbox does: each becomes a received case, a note on "
            "the case it answers, or is rejected; each is taken once. Exits with status 1 "
            "when the mailbox could not be read.")

    def add_arguments(self, parser):
        parser.add_argument("--url", help="this mailbox instead of INTAKE_IMAP_URL")
        parser.add_argument("--batch", type=int,
                            help=f"at most this many messages (default INTAKE_IMAP_BATCH, "
                                 f"{settings.INTAKE_IMAP_BATCH})")

    def handle(self, *args, url=None, batch=None, **options):
        if not (url or settings.INTAKE_IMAP_URL):
            raise CommandError("未配置收信邮箱：请设置 INTAKE_IMAP_URL（或使用 --url）。")
        result = mail.poll_mailbox(url=url, batch=batch)
        self.stdout.write(
            f"新登记 {result.registered} 件，追加到原案件 {result.added} 封，拒收 "
            f"{result.rejected} 封，处理失败 {result.failed} 封，已由其他进程处理 "
            f"{result.skipped} 封。")
        if result.error:
            raise CommandError(f"收信邮箱读取失败：{result.error}", returncode=1)
