"""Platform messages are one outbox channel for every platform (issue 16's callbacks):
the 12345 extension messages written before become `platform` rows addressed to the
platform's code (the one that sent the case, else the 12345 platform)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Delivery = apps.get_model("cases", "Delivery")
    Platform = apps.get_model("intake", "Platform")
    PlatformCase = apps.get_model("intake", "PlatformCase")
    fallback = (Platform.objects.filter(channel="hotline_12345").order_by("pk")
                .values_list("code", flat=True).first())
    for row in Delivery.objects.filter(channel="hotline_12345"):
        code = (PlatformCase.objects.filter(case_id=row.case_id)
                .values_list("platform__code", flat=True).first()) or fallback
        row.channel = "platform"
        if code:
            row.to = code
        else:
            row.state = "failed"
            row.last_error = "没有对接平台：请在管理后台添加 12345 平台后再次发送。"
        row.save(update_fields=["channel", "to", "state", "last_error"])


def backwards(apps, schema_editor):
    Delivery = apps.get_model("cases", "Delivery")
    Delivery.objects.filter(channel="platform").update(channel="hotline_12345")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0022_event_chain"),
        ("intake", "0007_platform_role"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
