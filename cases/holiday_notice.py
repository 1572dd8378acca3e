"""The days a State Council holiday notice names (国务院办公厅关于<year>年部分节假日安排的通知).

The notice lists one holiday per item, each in the same few sentences:

    一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
    二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。
        2月14日（周六）、2月28日（周六）上班。
    五、端午节：6月10日放假，与周末连休。

A sentence with 放假 names the days off (a day, or a range with 至); a sentence ending
in 上班 names the weekends worked (调休). Other sentences (the preamble, 鼓励……休息, the
closing paragraph) are passed over and reported, never guessed at. The weekday a date is
annotated with (周四, 星期日) is checked against the year: the usual mistake is the notice
of another year. Anything that reads like an arrangement but cannot be read is an error
naming the sentence; nothing is written from a notice that is not understood entirely.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .calendar import PlannedDay
from .models import DayKind

WEEKDAYS = "一二三四五六日"
ERRORS_SHOWN = 5  # a notice of another year is wrong on every date: the first few tell it

# After NFKC: full-width digits, colons, commas and parentheses are ASCII.
_ITEM = re.compile(r"(?:^|(?<=[。:\s]))[一二三四五六七八九十]+、\s*(?P<name>[^:\n。]{1,30}?)\s*:")
_DATE = re.compile(
    r"(?:(?P<year>\d{4})\s*年\s*)?(?:(?P<month>\d{1,2})\s*月\s*)?(?P<day>\d{1,2})\s*日"
    r"\s*(?:\((?P<note>[^()]*)\))?")
_WEEKDAY_NOTE = re.compile(r"(?:周|星期)(?P<weekday>[一二三四五六日天])")
_RANGE_WORD = r"\s*(?:至|到|-|—|–|~|～)\s*"
_COUNT = re.compile(r"(?:共|放假)\s*(?P<count>\d+)\s*天")
_TITLE_YEAR = re.compile(r"关于\s*(?P<year>\d{4})\s*年")
_ANY_DATE = r"(?:\d{4}\s*年\s*)?(?:\d{1,2}\s*月\s*)?\d{1,2}\s*日\s*(?:\([^()]*\))?"
_HOLIDAY_RANGE = re.compile(rf"^(?P<first>{_ANY_DATE})(?:{_RANGE_WORD}(?P<last>.+))?$")
_WEEKDAY_NUMBERS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


@dataclass
class Notice:
    """What a notice says for one year: its days in date order, and the sentences with a
    date in them that were passed over (shown to the administrator before confirming)."""

    year: int
    days: list[PlannedDay] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)


def title_year(text: str) -> int | None:
    """The year in the notice's title (关于2026年部分节假日安排), if it was pasted too."""
    match = _TITLE_YEAR.search(unicodedata.normalize("NFKC", text))
    return int(match["year"]) if match else None


def read_notice(text: str, year: int) -> Notice:
    """The holidays and the weekends worked that the notice names for `year`.

    Raises ValidationError (a list of messages, each naming the sentence it is about)
    when any arrangement cannot be read, a date does not exist or falls on another
    weekday than the notice says, or nothing at all was found.
    """
    text = unicodedata.normalize("NFKC", text or "")
    notice = Notice(year=year)
    errors: list[str] = []
    kinds: dict[date, PlannedDay] = {}
    heads = list(_ITEM.finditer(text))
    for index, head in enumerate(heads):
        end = heads[index + 1].start() if index + 1 < len(heads) else len(text)
        name = re.sub(r"\s+", "", head["name"])
        for sentence in _sentences(text[head.end():end]):
            try:
                found = _read_sentence(sentence, name, year)
            except ValidationError as error:
                errors.extend(error.messages)
                continue
            if found is None:
                if _DATE.search(sentence):
                    notice.passed_over.append(sentence)
                continue
            for day in found:
                earlier = kinds.get(day.date)
                if earlier is not None and earlier.kind != day.kind:
                    errors.append(_("%(date)s既是放假日又是上班日，请核对通知原文。")
                                  % {"date": _month_day(day.date)})
                kinds.setdefault(day.date, day)
    if len(errors) > ERRORS_SHOWN:
        errors = [*errors[:ERRORS_SHOWN],
                  _("……另有 %(count)d 处不对。") % {"count": len(errors) - ERRORS_SHOWN}]
    if errors:
        raise ValidationError(errors)
    if not any(day.kind == DayKind.HOLIDAY for day in kinds.values()):
        raise ValidationError(_(
            "没有找到放假安排：请粘贴通知的正文，每一项形如“一、元旦：1月1日至3日放假调休，"
            "共3天。1月4日（周日）上班。”"))
    notice.days = sorted(kinds.values(), key=lambda day: day.date)
    return notice


def _sentences(body: str) -> list[str]:
    """The sentences of one item, each without its line breaks."""
    body = re.sub(r"\s+", "", body)
    return [sentence for sentence in re.split(r"[。;；]", body) if sentence]


def _read_sentence(sentence: str, name: str, year: int) -> list[PlannedDay] | None:
    """The days one sentence names, or None for a sentence that arranges nothing."""
    if "放假" in sentence and _DATE.search(sentence):
        return _holidays(sentence, name, year)
    if sentence.endswith("上班") and _DATE.search(sentence):
        return _workdays(sentence, name, year)
    return None


def _holidays(sentence: str, name: str, year: int) -> list[PlannedDay]:
    """`1月1日(周四)至3日(周六)放假调休,共3天` or `6月10日放假,与周末连休`."""
    unreadable = ValidationError(_("读不懂这一句的放假日期：“%(sentence)s”。")
                                 % {"sentence": sentence})
    arrangement = sentence[:sentence.index("放假")]
    match = _HOLIDAY_RANGE.match(arrangement)
    last_match = _DATE.fullmatch(match["last"]) if match and match["last"] else None
    if match is None or (match["last"] and last_match is None):
        raise unreadable
    first_match = _DATE.match(match["first"])
    first = last = _date(first_match, year, None, sentence)
    if last_match is not None:
        last = _date(last_match, first.year, first, sentence)
        if last < first and not last_match["year"]:
            if first_match["year"]:  # 2017年12月30日至1月1日
                last = _date(last_match, first.year + 1, first, sentence)
            else:  # 12月31日至1月2日, in the notice of the year it ends in
                first = _date(first_match, year - 1, None, sentence)
        if last < first or (last - first).days > 31:
            raise ValidationError(_("这一句的放假起止日期不对：“%(sentence)s”。")
                                  % {"sentence": sentence})
        _check_weekday(last_match, last)
    _check_weekday(first_match, first)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    count = _COUNT.search(sentence[sentence.index("放假"):])
    if count and int(count["count"]) != len(days):
        raise ValidationError(_("“%(sentence)s”：起止日期共 %(days)d 天，与通知写的 %(count)s 天不符。")
                              % {"sentence": sentence, "days": len(days),
                                 "count": count["count"]})
    return [PlannedDay(day, DayKind.HOLIDAY, name) for day in days]


def _workdays(sentence: str, name: str, year: int) -> list[PlannedDay]:
    """`9月28日(周日)、10月11日(周六)上班`: each a weekend day worked."""
    unreadable = ValidationError(_("读不懂这一句的上班日期：“%(sentence)s”。")
                                 % {"sentence": sentence})
    arrangement = sentence[:-len("上班")]
    days, position, previous = [], 0, None
    for match in _DATE.finditer(arrangement):
        between = arrangement[position:match.start()]
        if between.strip("、,和及与") or (days and not between):
            raise unreadable
        previous = _date(match, previous.year if previous else year, previous, sentence)
        _check_weekday(match, previous)
        if previous.weekday() < 5:
            raise ValidationError(_(
                "“%(sentence)s”：%(date)s 是%(year)s年的周%(weekday)s，本来就上班，"
                "不是调休上班日；请核对年份。") % {
                    "sentence": sentence, "date": _month_day(previous), "year": previous.year,
                    "weekday": WEEKDAYS[previous.weekday()]})
        days.append(PlannedDay(previous, DayKind.WORKDAY, name))
        position = match.end()
    if arrangement[position:] or not days:
        raise unreadable
    return days


def _date(match: re.Match, year: int, previous: date | None, sentence: str) -> date:
    """The date a match names: a missing year is `year`, a missing month the previous
    date's (至3日 after 1月1日)."""
    month = int(match["month"]) if match["month"] else (previous.month if previous else None)
    year = int(match["year"]) if match["year"] else year
    if month is None:
        raise ValidationError(_("“%(sentence)s”：日期缺少月份。") % {"sentence": sentence})
    try:
        return date(year, month, int(match["day"]))
    except ValueError:
        raise ValidationError(_("“%(sentence)s”：%(year)s年没有%(month)s月%(day)s日。") % {
            "sentence": sentence, "year": year, "month": month,
            "day": match["day"]}) from None


def _check_weekday(match: re.Match, day: date) -> None:
    """The weekday the notice gives a date (周四, 星期日) is the date's in that year."""
    note = _WEEKDAY_NOTE.search(match["note"] or "")
    if note and _WEEKDAY_NUMBERS[note["weekday"]] != day.weekday():
        raise ValidationError(_(
            "%(date)s在通知中是周%(said)s，但%(year)s年的这一天是周%(actual)s："
            "请核对年份，或是否粘贴了别的年份的通知。") % {
                "date": _month_day(day), "said": note["weekday"], "year": day.year,
                "actual": WEEKDAYS[day.weekday()]})


def _month_day(day: date) -> str:
    return _("%(month)d月%(day)d日") % {"month": day.month, "day": day.day}
