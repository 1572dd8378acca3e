"""The four response tiers of DESIGN, the six staff roles, and the holiday calendar."""

from django.db import migrations

TIERS = [
    # code, name, scope, duration, unit, return window (minutes)
    ("T1", "紧急", "突发事件、不稳定因素、危及生命财产安全", 2, "hours", 30),
    ("T2", "民生", "水、电、气、热等基本生活保障", 24, "hours", 120),
    ("T3", "一般", "其他诉求，按紧急程度办理", 7, "working_days", 24 * 60),
    ("T4", "复杂疑难", "复杂疑难诉求（15个工作日内答复办理进展）", 15, "working_days", 48 * 60),
]

CASE_MODELS = ["case", "caseevent", "petitioner", "department", "category", "tierpolicy",
               "calendarday"]
VIEW_ALL = [f"cases.view_{model}" for model in CASE_MODELS]
ROLE_PERMISSIONS = {
    "clerk": VIEW_ALL + ["cases.add_case", "cases.add_petitioner", "cases.change_petitioner"],
    "dispatcher": VIEW_ALL + ["cases.change_case"],
    "handler": VIEW_ALL,
    "department_head": VIEW_ALL,
    "supervisor": VIEW_ALL,
    "administrator": "__all__",
}


def seed(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    TierPolicy = apps.get_model("cases", "TierPolicy")
    for code, name, scope, duration, unit, window in TIERS:
        TierPolicy.objects.update_or_create(
            code=code,
            defaults={"name": name, "description": scope, "duration": duration, "unit": unit,
                      "return_window_minutes": window},
        )

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        if codenames == "__all__":
            permissions = Permission.objects.filter(
                content_type__app_label__in=["cases", "auth", "axes"]
            )
        else:
            permissions = [
                Permission.objects.get(content_type__app_label=label, codename=codename)
                for label, codename in (name.split(".") for name in codenames)
            ]
        group.permissions.set(permissions)

    from cases.calendar import import_package_years

    import_package_years(apps.get_model("cases", "CalendarDay"))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("axes", "0009_add_session_hash"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
