from django.db import migrations


def add_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="platform")


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="platform").delete()


class Migration(migrations.Migration):
    """The platform role (cases.roles.Role.PLATFORM): the group of the platforms' accounts."""

    dependencies = [("intake", "0006_platforms_and_mail"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(add_group, remove_group)]
