"""System checks: say so when deadlines are computed without the holiday calendar."""

from django.core.checks import Warning, register
from django.db import DatabaseError


@register()
def holiday_calendar_entered(app_configs, **kwargs):
    from .calendar import missing_calendar_years

    try:
        missing = missing_calendar_years()
    except DatabaseError:  # not migrated yet: nothing to say about the data
        return []
    return [
        Warning(
            f"No public holidays entered for {year}: working-day deadlines in {year} "
            "are computed on plain weekends.",
            hint="Enter the year's holidays and adjusted working days in the admin "
            "(节假日与调休), or upgrade the chinesecalendar package.",
            id="cases.W001",
        )
        for year in missing
    ]


@register(deploy=True)
def personal_data_key_set(app_configs, **kwargs):
    from django.conf import settings

    if settings.PERSONAL_DATA_KEY:
        return []
    return [Warning(
        "PERSONAL_DATA_KEY is not set: ID numbers are encrypted under a key derived from "
        "SECRET_KEY, so changing SECRET_KEY would make them unreadable.",
        hint="Set PERSONAL_DATA_KEY to a long random secret of its own and keep it safe.",
        id="cases.W002")]
