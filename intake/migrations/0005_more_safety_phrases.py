"""Self-harm said in other words (the bench's held-out T1 case missed: 自缢), and poison."""

from django.db import migrations

EMERGENCY = ["自缢", "上吊", "寻死", "喝农药", "服毒", "吞药", "安眠药", "活不下去", "一死了之",
             "烧炭"]


def seed(apps, schema_editor):
    Phrase = apps.get_model("intake", "SafetyPhrase")
    Phrase.objects.bulk_create([Phrase(phrase=p, kind="emergency") for p in EMERGENCY],
                               ignore_conflicts=True)


def unseed(apps, schema_editor):
    apps.get_model("intake", "SafetyPhrase").objects.filter(phrase__in=EMERGENCY).delete()


class Migration(migrations.Migration):
    dependencies = [("intake", "0004_triage_models")]
    operations = [migrations.RunPython(seed, unseed)]
