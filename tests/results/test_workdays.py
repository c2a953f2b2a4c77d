"""Working days across 国庆 and 春节 with 调休 weekends, and per-district overrides (issue 5)."""
from datetime import date, timedelta

import pytest

from app.results.workdays import (CALENDARS, HOLIDAYS, MAKE_UP_WORKDAYS, CalendarMissing, add_working_days,
                                  holiday_name, is_working_day, known_years, normalise_overrides,
                                  working_days_between)

d = date


# ---- 国庆节、中秋节 2025: 10/1–10/8 off; Sunday 9/28 and Saturday 10/11 worked ---------------------


def test_national_day_2025_days():
    assert is_working_day(d(2025, 9, 26))            # Friday
    assert not is_working_day(d(2025, 9, 27))        # Saturday
    assert is_working_day(d(2025, 9, 28))            # Sunday, 调休 working day
    assert all(not is_working_day(d(2025, 10, day)) for day in range(1, 9))  # 10/1–10/8, Wed to Wed
    assert is_working_day(d(2025, 10, 9)) and is_working_day(d(2025, 10, 10))
    assert is_working_day(d(2025, 10, 11))           # Saturday, 调休 working day
    assert not is_working_day(d(2025, 10, 12))       # Sunday
    assert holiday_name(d(2025, 10, 11)) == "国庆节、中秋节"


def test_publicity_across_national_day_2025():
    # published Friday 9/26: 9/26 (1), 9/28 Sun (2), 9/29 (3), 9/30 (4), then 10/9 (5)
    assert add_working_days(d(2025, 9, 26), 5) == d(2025, 10, 9)
    # 7 days: … 10/10 Fri (6), 10/11 Sat make-up (7)
    assert add_working_days(d(2025, 9, 26), 7) == d(2025, 10, 11)
    # published on Saturday 9/27: the make-up Sunday 9/28 is day 1
    assert add_working_days(d(2025, 9, 27), 1) == d(2025, 9, 28)
    # published during the holiday: day 1 is Thursday 10/9
    assert add_working_days(d(2025, 10, 3), 3) == d(2025, 10, 11)
    # 9/28 (Sun), 9/29, 9/30, 10/9, 10/10, 10/11 (Sat)
    assert working_days_between(d(2025, 9, 27), d(2025, 10, 12)) == 6


# ---- 春节 2025: 1/28–2/4 off; Sunday 1/26 and Saturday 2/8 worked ---------------------------------


def test_spring_festival_2025_days():
    assert is_working_day(d(2025, 1, 26))            # Sunday, 调休
    assert is_working_day(d(2025, 1, 27))
    assert all(not is_working_day(d(2025, 1, 28) + timedelta(days=i)) for i in range(8))  # 1/28–2/4
    assert is_working_day(d(2025, 2, 5))
    assert is_working_day(d(2025, 2, 8))             # Saturday, 调休
    assert not is_working_day(d(2025, 2, 9))


def test_publicity_across_spring_festival_2025():
    # Friday 1/24 (1), Sun 1/26 (2), Mon 1/27 (3), then Wed 2/5 (4), Thu 2/6 (5)
    assert add_working_days(d(2025, 1, 24), 5) == d(2025, 2, 6)
    # … Fri 2/7 (6), Sat 2/8 make-up (7)
    assert add_working_days(d(2025, 1, 24), 7) == d(2025, 2, 8)
    # 1/26, 1/27, 2/5, 2/6, 2/7, 2/8
    assert working_days_between(d(2025, 1, 25), d(2025, 2, 9)) == 6


def test_other_2025_holidays_and_make_up_days():
    assert not is_working_day(d(2025, 1, 1))
    assert not is_working_day(d(2025, 4, 4))         # 清明, Friday
    assert is_working_day(d(2025, 4, 27))            # Sunday, 劳动节 调休
    assert not is_working_day(d(2025, 5, 5))         # Monday, 劳动节
    assert not is_working_day(d(2025, 6, 2))         # Monday, 端午


# ---- counting rules ------------------------------------------------------------------------------


def test_counting_includes_the_publication_day_unless_told_otherwise():
    monday = d(2025, 11, 24)
    assert add_working_days(monday, 5) == d(2025, 11, 28)          # Mon–Fri, like "11月24日至28日"
    assert add_working_days(monday, 5, include_start=False) == d(2025, 12, 1)
    assert add_working_days(monday, 1) == monday
    assert working_days_between(monday, add_working_days(monday, 5)) == 5


def test_between_is_inclusive_and_empty_when_reversed():
    assert working_days_between(d(2025, 11, 24), d(2025, 11, 24)) == 1
    assert working_days_between(d(2025, 11, 29), d(2025, 11, 30)) == 0   # a weekend
    assert working_days_between(d(2025, 11, 28), d(2025, 11, 24)) == 0


def test_bad_lengths_are_refused():
    with pytest.raises(ValueError):
        add_working_days(d(2025, 11, 24), 0)
    with pytest.raises(ValueError):
        add_working_days(d(2025, 11, 24), 1000)


def test_across_the_new_year_into_2026():
    # Wed 12/31 (1); 2026-01-01–03 off; Sunday 1/4 is a 2026 调休 working day (2)
    assert add_working_days(d(2025, 12, 31), 2) == d(2026, 1, 4)


# ---- overrides -----------------------------------------------------------------------------------


def test_district_overrides():
    # a district closes its office on Thursday 10/9 (e.g. a local holiday) …
    closed = {d(2025, 10, 9): False}
    assert not is_working_day(d(2025, 10, 9), closed)
    assert add_working_days(d(2025, 9, 26), 5, closed) == d(2025, 10, 10)
    # … or does not work the make-up Saturday 10/11
    no_saturday = {d(2025, 10, 11): False}
    assert add_working_days(d(2025, 9, 26), 7, no_saturday) == d(2025, 10, 13)
    # … or opens on a holiday
    assert add_working_days(d(2025, 9, 30), 2, {d(2025, 10, 8): True}) == d(2025, 10, 8)
    assert working_days_between(d(2025, 9, 27), d(2025, 10, 12), {"2025-10-09": False, "2025-10-04": True}) == 6


def test_overrides_as_stored_in_json():
    assert normalise_overrides({"2025-10-09": False, d(2025, 10, 4): True}) == {d(2025, 10, 9): False,
                                                                               d(2025, 10, 4): True}
    with pytest.raises(ValueError):
        normalise_overrides({"2025-10-09": "no"})
    with pytest.raises(ValueError):
        normalise_overrides({"10/09/2025": False})


def test_an_unknown_year_is_refused_not_guessed():
    with pytest.raises(CalendarMissing, match="2027"):
        is_working_day(d(2027, 3, 1))
    with pytest.raises(CalendarMissing):
        add_working_days(d(2026, 12, 30), 5)       # runs into 2027
    assert is_working_day(d(2027, 3, 1), {d(2027, 3, 1): True})  # an override still answers


# ---- the data ------------------------------------------------------------------------------------


def test_2026_schedule():
    for day in (d(2026, 1, 4), d(2026, 2, 14), d(2026, 2, 28), d(2026, 5, 9), d(2026, 9, 20), d(2026, 10, 10)):
        assert is_working_day(day) and day.weekday() >= 5
    assert not is_working_day(d(2026, 2, 23))         # Monday, last day of 春节
    assert not is_working_day(d(2026, 9, 25))         # Friday, 中秋
    # Monday 9/28 (1), 9/29 (2), 9/30 (3), then Thursday 10/8 (4), Friday 10/9 (5)
    assert add_working_days(d(2026, 9, 28), 5) == d(2026, 10, 9)
    assert add_working_days(d(2026, 9, 28), 6) == d(2026, 10, 10)  # Saturday 调休


@pytest.mark.parametrize("year, name, days", [(2025, "春节", 8), (2025, "国庆节、中秋节", 8), (2025, "劳动节", 5),
                                              (2026, "春节", 9), (2026, "国庆节", 7), (2026, "元旦", 3)])
def test_holiday_lengths_match_the_notices(year, name, days):
    assert sum(1 for day, n in HOLIDAYS.items() if day.year == year and n == name) == days


def test_calendar_data_is_consistent():
    assert known_years() == [2025, 2026]
    assert not set(HOLIDAYS) & set(MAKE_UP_WORKDAYS)
    assert all(day.weekday() >= 5 for day in MAKE_UP_WORKDAYS)       # 调休 days are weekends
    for year, data in CALENDARS.items():
        assert data["source"]
        for _, first, last in data["holidays"]:
            assert date.fromisoformat(first) <= date.fromisoformat(last)
            assert date.fromisoformat(first).year == year == date.fromisoformat(last).year
        assert all(date.fromisoformat(day).year == year for _, day in data["workdays"])
    assert len([x for x in MAKE_UP_WORKDAYS if x.year == 2025]) == 5
    assert len([x for x in MAKE_UP_WORKDAYS if x.year == 2026]) == 6
