"""The sweep's schedule in its own narrow table (issue 17, item 3).

A case's escalation step and the time of its next step move from the case row to
cases_caseschedule, one row per case that has been scheduled: every ladder step the sweep
took was an UPDATE of the case row, which (next_action_at being indexed) was never HOT and
wrote an entry into each of the case table's two dozen indexes, the trigram ones included.
Now the sweep finds due cases through the schedule's small index and writes only there.
Rows are copied for every case with a step reached or a next time; the case's columns go.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0024_live_tallies'),
    ]

    operations = [
        migrations.CreateModel(
            name='CaseSchedule',
            fields=[
                ('case', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='schedule', serialize=False, to='cases.case', verbose_name='案件')),
                ('escalation_step', models.CharField(blank=True, choices=[('intake_warning', '受理预警'), ('intake_overdue', '受理超时'), ('warning', '预警'), ('overdue', '超期（一级督办）'), ('level2', '二级督办'), ('visit_warning', '回访预警'), ('visit_overdue', '回访超期'), ('final_warning', '最终结果预警'), ('final_overdue', '最终结果超期')], max_length=20, verbose_name='已到督办环节')),
                ('next_action_at', models.DateTimeField(blank=True, help_text='期限清扫据此找到到点的案件。', null=True, verbose_name='下一督办环节时间')),
            ],
            options={
                'verbose_name': '督办时间表',
                'verbose_name_plural': '督办时间表',
            },
        ),
        migrations.RunSQL(
            "INSERT INTO cases_caseschedule (case_id, escalation_step, next_action_at) "
            "SELECT id, escalation_step, next_action_at FROM cases_case "
            "WHERE next_action_at IS NOT NULL OR escalation_step <> ''",
            reverse_sql="UPDATE cases_case SET escalation_step = s.escalation_step, "
                        "next_action_at = s.next_action_at FROM cases_caseschedule s "
                        "WHERE s.case_id = cases_case.id"),
        migrations.RemoveIndex(
            model_name='case',
            name='case_open_next_action_idx',
        ),
        migrations.RemoveField(
            model_name='case',
            name='escalation_step',
        ),
        migrations.RemoveField(
            model_name='case',
            name='next_action_at',
        ),
        migrations.RemoveField(
            model_name='historicalcase',
            name='escalation_step',
        ),
        migrations.RemoveField(
            model_name='historicalcase',
            name='next_action_at',
        ),
        migrations.AddIndex(
            model_name='caseschedule',
            index=models.Index(condition=models.Q(('next_action_at__isnull', False)), fields=['next_action_at'], name='case_schedule_due_idx'),
        ),
    ]
