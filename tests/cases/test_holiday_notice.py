"""The State Council's notice, pasted in, names the same days the package knows; a notice
that does not fit the year is refused sentence by sentence, never half read."""

from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from cases.calendar import package_year
from cases.holiday_notice import read_notice, title_year
from cases.models import DayKind

DATA = Path(__file__).parent / "data"


def _notice(year: int) -> str:
    return (DATA / f"holiday_notice_{year}.txt").read_text(encoding="utf-8")


def _days(days) -> set:
    return {(day.date, str(day.kind)) for day in days}


@pytest.mark.parametrize("year", [2024, 2026])
def test_a_notice_names_the_days_the_package_knows(year):
    assert _days(read_notice(_notice(year), year).days) == _days(package_year(year))


def test_a_sentence_that_arranges_nothing_is_passed_over_and_reported():
    notice = read_notice(_notice(2024), 2024)
    assert date(2024, 2, 9) not in {day.date for day in notice.days}  # 鼓励……除夕休息
    assert any("除夕" in sentence for sentence in notice.passed_over)


def test_the_year_in_the_title_is_read():
    assert title_year(_notice(2026)) == 2026
    assert title_year("一、元旦：1月1日放假。") is None


def test_the_notice_of_another_year_is_refused_by_its_weekdays():
    with pytest.raises(ValidationError) as refused:
        read_notice(_notice(2026), 2027)
    assert "请核对年份" in refused.value.messages[0]
    assert len(refused.value.messages) <= 6  # the first few, and how many more


@pytest.mark.parametrize("text, words", [
    ("你好", "没有找到放假安排"),
    ("一、元旦：1月1日至3日放假调休，共4天。", "与通知写的 4 天不符"),
    ("一、元旦：2月30日放假。", "没有2月30日"),
    ("一、元旦：1月1日至放假。", "读不懂"),
    ("一、元旦：1月1日放假。1月5日（周一）上班。", "本来就上班"),
    ("一、元旦：1月1日放假。1月4日上班。二、春节：1月4日放假。", "既是放假日又是上班日"),
])
def test_what_cannot_be_read_is_told(text, words):
    with pytest.raises(ValidationError) as refused:
        read_notice(text, 2026)
    assert words in " ".join(refused.value.messages)


def test_new_years_day_may_begin_in_the_year_before():
    notice = read_notice("一、元旦：12月30日（周六）至1月1日（周一）放假调休，共3天。", 2018)
    assert [day.date for day in notice.days] == [date(2017, 12, 30), date(2017, 12, 31),
                                                date(2018, 1, 1)]
    explicit = read_notice("一、元旦：2017年12月30日至2018年1月1日放假调休，共3天。", 2018)
    assert _days(explicit.days) == _days(notice.days)


def test_full_width_digits_and_line_breaks_are_read():
    notice = read_notice("三、清明节：\n４月４日（周六）至\n６日（周一）放假，共３天。", 2026)
    assert [day.date for day in notice.days] == [date(2026, 4, 4), date(2026, 4, 5),
                                                date(2026, 4, 6)]
    assert {day.kind for day in notice.days} == {DayKind.HOLIDAY}
