"""The editor form reader: months text, and property-style checks that no posted form makes
it crash or lose typed text."""
from __future__ import annotations

import random

import pytest
from werkzeug.datastructures import MultiDict

from app.plans import services
from app.plans.forms import parse_months, read_form, vm_from_content
from tests.plans.helpers import CONTENT


@pytest.mark.parametrize("text, months", [
    ("3", [3]), ("7,8", [7, 8]), ("七、八月", [7, 8]), ("七、八月份", [7, 8]), ("一、二月", [1, 2]),
    ("9-10月", [9, 10]), ("12-2月", [12, 1, 2]), ("十二月", [12]), ("二月份", [2]), ("7，8", [7, 8]),
    ("元月", [1]), ("3月、4月", [3, 4]),
])
def test_months_text(text, months):
    assert parse_months(text) == months


@pytest.mark.parametrize("text", ["", "  ", "十三月", "0", "13", "abc", "七八月", "3月8日", "-"])
def test_not_months(text):
    assert parse_months(text) is None


def test_round_trip_of_saved_content():
    vm = vm_from_content(CONTENT)
    form = MultiDict()
    form.add("title", vm["title"])
    form.add("guiding_ideology", vm["guiding_ideology"])
    form.add("goals", vm["goals"])
    for i, section in enumerate(vm["sections"]):
        form.add(f"section-{i}-title", section["title"])
        for j, item in enumerate(section["items"]):
            form.add(f"section-{i}-item-{j}-text", item["text"])
            form.add(f"section-{i}-item-{j}-category", item["category"])
    for i, text in enumerate(vm["measures"]):
        form.add(f"measure-{i}", text)
    for i, slot in enumerate(vm["slots"]):
        form.add(f"slot-{i}-months", slot["months_text"])
        for j, activity in enumerate(slot["activities"]):
            form.add(f"slot-{i}-act-{j}-title", activity["title"])
            form.add(f"slot-{i}-act-{j}-category", activity["category"])
    parsed = read_form(form)
    assert parsed.valid, parsed.errors
    assert services.without_ids(services.normalise(parsed.content())) == services.without_ids(
        services.normalise(CONTENT))


_KEYS = ["title", "goals", "guiding_ideology", "section-{a}-title", "section-{a}-key", "section-{a}-item-{b}-text",
         "section-{a}-item-{b}-category", "measure-{a}", "slot-{a}-months", "slot-{a}-act-{b}-title",
         "slot-{a}-act-{b}-category", "slot-{a}-act-{b}-id", "unclassified-{a}-text", "unclassified-{a}-target",
         "unclassified-{a}-months", "section-x-title", "slot--1-months", "junk"]
_VALUES = ["", " ", "召开教代会", "7,8", "十三月", "other", "care", "nope", "section:0", "section:99", "schedule",
           "drop", "keep", "title", "goals", "x" * 3000, "\r\n", "<script>", "12", "-1", "一、二月"]


def test_random_forms_never_crash_and_keep_typed_text():
    rng = random.Random(20260301)
    for _ in range(400):
        form = MultiDict()
        for _ in range(rng.randint(0, 25)):
            key = rng.choice(_KEYS).format(a=rng.randint(0, 3), b=rng.randint(0, 3))
            form.add(key, rng.choice(_VALUES))
        parsed = read_form(form)
        vm_text = repr(parsed.vm)
        for key, value in form.items():  # a browser posts each name once: the first value counts
            if value.strip() and key.endswith(("-text", "-title")) and key.startswith(("section-", "slot-")) \
                    and key.split("-")[1].isdigit():
                assert value.strip() in vm_text, (key, value)
        if parsed.valid:
            try:
                services.normalise(parsed.content())
            except services.PlanError:
                pass  # a refusal is a Chinese message, never a crash
