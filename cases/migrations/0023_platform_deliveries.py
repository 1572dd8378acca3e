"""Platform messages are one outbox channel for every platform (issue 16's callbacks):
the 12345 extension messages written before become `platform` rows addressed to the
platform's code (the one that sent the case, else the first active 12345 platform, as
the sender chooses now), their body in the callbacks' shape. Rows with no platform to go
to are left as they were, failed, with the reason."""

import json

from django.db import migrations


def forwards(apps, schema_editor):
    Delivery = apps.get_model("cases", "Delivery")
    Platform = apps.get_model("intake", "Platform")
    PlatformCase = apps.get_model("intake", "PlatformCase")
    fallback = (Platform.objects.filter(channel="hotline_12345", is_active=True).order_by("pk")
                .values_list("code", flat=True).first())
    sequence: dict[int, int] = {}
    for row in Delivery.objects.filter(channel="hotline_12345").order_by("pk"):
        code = (PlatformCase.objects.filter(case_id=row.case_id)
                .values_list("platform__code", flat=True).first()) or fallback
        if not code:
            row.state = "failed"
            row.last_error = "没有对接平台：这条 12345 延期消息未能转为平台推送。"
            row.save(update_fields=["state", "last_error"])
            continue
        try:
            old = json.loads(row.body)
        except ValueError:
            old = {}
        sequence[row.case_id] = sequence.get(row.case_id, 0) + 1
        key = f"{code}-{row.case_id}-m{row.pk}"
        row.body = json.dumps({
            "id": key, "event": "extended", "sequence": sequence[row.case_id],
            "ticket": old.get("ticket", row.to), "case_number": old.get("case_number"),
            "state": None, "round": None, "occurred_at": old.get("approved_at"),
            "data": {"due_at": old.get("due_at"), "original_due_at": old.get("original_due_at"),
                     "reason": old.get("reason", "")},
        }, ensure_ascii=False, sort_keys=True)
        row.channel, row.to, row.message_id = "platform", code, key
        row.save(update_fields=["channel", "to", "message_id", "body"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0022_event_chain"),
        ("intake", "0007_platform_role"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
