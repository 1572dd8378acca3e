"""The departments' ledger by month (oversight.models.MonthlyLedger); kept by the triggers
of migration 0012."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("oversight", "0010_figure_rollup_triggers")]

    operations = [
        migrations.CreateModel(
            name="MonthlyLedger",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("segments", models.IntegerField(db_default=0, default=0, verbose_name="责任时段")),
                ("held_seconds", models.BigIntegerField(db_default=0, default=0, verbose_name="持有时长（秒）")),
                ("late_segments", models.IntegerField(db_default=0, default=0, verbose_name="超期时段")),
                ("late_seconds", models.BigIntegerField(db_default=0, default=0, verbose_name="超期时长（秒）")),
                ("dispatched", models.IntegerField(db_default=0, default=0, verbose_name="收到交办")),
                ("misrouted", models.IntegerField(db_default=0, default=0, verbose_name="退单成立（派错）")),
                ("returns_upheld", models.IntegerField(db_default=0, default=0, verbose_name="退单成立")),
                ("returns_refused", models.IntegerField(db_default=0, default=0, verbose_name="退单被驳回")),
                ("extensions", models.IntegerField(db_default=0, default=0, verbose_name="获批延期")),
                ("month", models.DateField(verbose_name="月份")),
                ("holder", models.CharField(max_length=20, verbose_name="责任方")),
                ("department_id_value", models.IntegerField(default=0, verbose_name="部门")),
            ],
            options={
                "verbose_name": "部门责任台账（按月）",
                "verbose_name_plural": "部门责任台账（按月）",
                "constraints": [models.UniqueConstraint(
                    fields=("month", "holder", "department_id_value"),
                    name="one_ledger_row_per_month_and_holder")],
            },
        ),
    ]
