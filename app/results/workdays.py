"""Working days (工作日) in mainland China, for counting the 公示 period (issue 5, domain §1.7).

A day is a working day when it is Monday–Friday and not a public holiday, or when it is a 调休
make-up working day (a Saturday or Sunday worked in exchange for a longer holiday). The
calendar is DATA, one entry per year, copied from the State Council's annual notice
(国务院办公厅关于 YYYY 年部分节假日安排的通知); a district may override single days
({date: True/False}, e.g. a local holiday or a day the office is closed). A year that is not in
the data is refused (CalendarMissing) rather than guessed: add the year's notice below when the
State Council publishes it (usually in November of the year before).

Counting rule for the 公示 (``add_working_days``): the publication day counts as day 1 when it is
a working day (published notices read "公示期为 11月28日至12月4日", 5 working days, day one
included); otherwise day 1 is the next working day. ``include_start=False`` starts counting on the
following day (e.g. when results are published after office hours). ``working_days_between``
counts both ends, so ``working_days_between(s, add_working_days(s, n)) == n`` for a working day s.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Mapping

# Per year: "holidays" as (name, first day, last day) inclusive; "workdays" as (name, day) — the
# 调休 weekend days that are worked. Dates are ISO strings so the data reads like the notice.
CALENDARS: dict[int, dict] = {
    2025: {
        # 国办发明电〔2024〕12号, 2024-11-12 (first year under the 2024 revision of
        # 《全国年节及纪念日放假办法》: 春节 and 劳动节 one day longer).
        "source": "国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）",
        "holidays": [
            ("元旦", "2025-01-01", "2025-01-01"),
            ("春节", "2025-01-28", "2025-02-04"),
            ("清明节", "2025-04-04", "2025-04-06"),
            ("劳动节", "2025-05-01", "2025-05-05"),
            ("端午节", "2025-05-31", "2025-06-02"),
            ("国庆节、中秋节", "2025-10-01", "2025-10-08"),
        ],
        "workdays": [
            ("春节", "2025-01-26"),        # Sunday
            ("春节", "2025-02-08"),        # Saturday
            ("劳动节", "2025-04-27"),      # Sunday
            ("国庆节、中秋节", "2025-09-28"),  # Sunday
            ("国庆节、中秋节", "2025-10-11"),  # Saturday
        ],
    },
    2026: {
        # Published 2025-11-04 (Xinhua). Checked against the published text; the document number
        # is not recorded here.
        "source": "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）",
        "holidays": [
            ("元旦", "2026-01-01", "2026-01-03"),
            ("春节", "2026-02-15", "2026-02-23"),
            ("清明节", "2026-04-04", "2026-04-06"),
            ("劳动节", "2026-05-01", "2026-05-05"),
            ("端午节", "2026-06-19", "2026-06-21"),
            ("中秋节", "2026-09-25", "2026-09-27"),
            ("国庆节", "2026-10-01", "2026-10-07"),
        ],
        "workdays": [
            ("元旦", "2026-01-04"),    # Sunday
            ("春节", "2026-02-14"),    # Saturday
            ("春节", "2026-02-28"),    # Saturday
            ("劳动节", "2026-05-09"),  # Saturday
            ("国庆节", "2026-09-20"),  # Sunday
            ("国庆节", "2026-10-10"),  # Saturday
        ],
    },
}

MAX_DAYS = 366  # a 公示 longer than a year is a typing error


class CalendarMissing(LookupError):
    """The holiday schedule of a year is not in CALENDARS (message in Chinese)."""


def _expand(calendars: Mapping[int, dict]) -> tuple[dict[date, str], dict[date, str]]:
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    for year, data in calendars.items():
        for name, first, last in data["holidays"]:
            day, end = date.fromisoformat(first), date.fromisoformat(last)
            while day <= end:
                holidays[day] = name
                day += timedelta(days=1)
        for name, day in data["workdays"]:
            workdays[date.fromisoformat(day)] = name
    return holidays, workdays


HOLIDAYS, MAKE_UP_WORKDAYS = _expand(CALENDARS)


def known_years() -> list[int]:
    return sorted(CALENDARS)


def normalise_overrides(overrides: Mapping | None) -> dict[date, bool]:
    """A district's overrides with ISO-string keys (as stored in JSON) turned into dates."""
    out: dict[date, bool] = {}
    for key, value in (overrides or {}).items():
        day = key if isinstance(key, date) else date.fromisoformat(str(key))
        if not isinstance(value, bool):
            raise ValueError(f"{day.isoformat()} 的设置应为“上班”或“放假”")
        out[day] = value
    return out


def is_working_day(d: date, overrides: Mapping | None = None) -> bool:
    """Overrides first, then the State Council calendar (holiday → no, 调休 → yes), then Mon–Fri."""
    overrides = normalise_overrides(overrides)
    if d in overrides:
        return overrides[d]
    if d.year not in CALENDARS:
        raise CalendarMissing(f"尚未录入 {d.year} 年的法定节假日安排，无法计算工作日；"
                              f"请先补充该年的放假通知，或为该日设置“上班/放假”")
    if d in HOLIDAYS:
        return False
    if d in MAKE_UP_WORKDAYS:
        return True
    return d.weekday() < 5


def add_working_days(start: date, n: int, overrides: Mapping | None = None, *, include_start: bool = True) -> date:
    """The date of the n-th working day counted from ``start`` (the last day of an n-day 公示).

    ``start`` counts as day 1 if it is a working day and ``include_start``; n must be ≥ 1.
    """
    if n < 1 or n > MAX_DAYS:
        raise ValueError(f"工作日天数应在 1 到 {MAX_DAYS} 之间")
    overrides = normalise_overrides(overrides)
    day = start if include_start else start + timedelta(days=1)
    counted = 0
    while True:
        if is_working_day(day, overrides):
            counted += 1
            if counted == n:
                return day
        day += timedelta(days=1)


def working_days_between(a: date, b: date, overrides: Mapping | None = None) -> int:
    """Working days from ``a`` to ``b``, both included; 0 when b is before a."""
    overrides = normalise_overrides(overrides)
    count, day = 0, a
    while day <= b:
        count += is_working_day(day, overrides)
        day += timedelta(days=1)
    return count


def holiday_name(d: date) -> str | None:
    """The holiday a day belongs to, or the holiday a 调休 working day makes up for (for display)."""
    return HOLIDAYS.get(d) or MAKE_UP_WORKDAYS.get(d)
