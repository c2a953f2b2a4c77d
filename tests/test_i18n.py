"""English is available, zh_CN stays the default (issue 2).

The msgids are the Chinese texts themselves; app/translations/en holds the English. `make i18n`
extracts new strings into the catalog; these tests fail until every entry is translated.
"""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[sdif%]")


def _catalog():
    with PO.open("rb") as fh:
        return read_po(fh)


def _translations() -> dict[str, str]:
    return {m.id: m.string for m in _catalog() if m.id}


# --- the catalog -------------------------------------------------------------------------------

def test_every_msgid_has_an_english_translation_with_the_same_placeholders():
    problems = []
    for message in _catalog():
        if not message.id:
            continue
        if not message.string or message.fuzzy:
            problems.append(f"untranslated: {message.id}")
            continue
        if sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(message.string)):
            problems.append(f"placeholders differ: {message.id} -> {message.string}")
    assert not problems, "\n".join(problems)


def test_the_catalog_contains_every_marked_string():
    """A string marked with _(), N_(), _l() or gettext() but missing from the catalog would stay
    Chinese in English: run `make i18n` and translate the new entries."""
    from babel.messages.extract import extract_from_dir

    known = set(_translations())
    keywords = {"_": None, "N_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    method_map = [("app/**.py", "python"), ("tenants/**.py", "python"), ("app/**/templates/**.html", "jinja2")]
    options = {"app/**/templates/**.html": {"extensions": "jinja2.ext.do"}}
    missing = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map=options, keywords=keywords):
        for text in message if isinstance(message, tuple) else (message,):
            if text and text not in known:
                missing.add(text)
    assert not missing, "not in the catalog (run `make i18n`):\n" + "\n".join(sorted(missing))


def _label_dicts():
    from app.activities.services import PLAN_STATUS_LABELS
    from app.audit.services import ACTION_LABELS
    from app.i18n import MONTH_NAMES
    from app.jobs.models import STATUS_LABELS as JOB_STATUS_LABELS
    from app.plans import services as plan_services
    from app.plans.models import CATEGORIES, STATUS_LABELS as PLAN_STATUS
    from app.rounds import models as round_models
    from app.rounds import services as round_services
    from app.rubrics import models as rubric_models
    from app.titles import models as title_models
    from tenants.models import SCHOOL_KINDS
    from tenants.roles import ROLE_LABELS

    return {
        "SCHOOL_KINDS": SCHOOL_KINDS, "ROLE_LABELS": ROLE_LABELS, "CATEGORIES": CATEGORIES,
        "plan STATUS_LABELS": PLAN_STATUS, "PLAN_STATUS_LABELS": PLAN_STATUS_LABELS,
        "TRACKING_LABELS": plan_services.TRACKING_LABELS, "DECISION_LABELS": plan_services.DECISION_LABELS,
        "ANCHOR_LABELS": plan_services.ANCHOR_LABELS, "job STATUS_LABELS": JOB_STATUS_LABELS,
        "ROUND_KINDS": round_models.ROUND_KINDS, "ROUND_STATE_LABELS": round_models.ROUND_STATE_LABELS,
        "APPLICATION_STATE_LABELS": round_models.APPLICATION_STATE_LABELS,
        "GRADE_BANDS": round_services.GRADE_BANDS, "ELIGIBILITY_LABELS": round_services.ELIGIBILITY_LABELS,
        "RUBRIC_STATUS_LABELS": rubric_models.RUBRIC_STATUS_LABELS,
        "EVIDENCE_METHODS": rubric_models.EVIDENCE_METHODS, "INDICATOR_KINDS": rubric_models.INDICATOR_KINDS,
        "PROVIDED_SOURCES": rubric_models.PROVIDED_SOURCES,
        "TIERS": title_models.TIERS, "LEVELS": title_models.LEVELS, "TITLE_STATUSES": title_models.TITLE_STATUSES,
        "HOME_KINDS": title_models.HOME_KINDS,
        # title_* actions are composed from the title events at import time (owned by app/titles)
        "ACTION_LABELS": {k: v for k, v in ACTION_LABELS.items() if not k.startswith("title_")},
        "MONTH_NAMES": dict(enumerate(MONTH_NAMES, 1)),
    }


def test_every_label_of_the_label_dicts_has_an_english_translation(app):
    """``app`` imports every module, so that ACTION_LABELS holds what all of them add."""
    translations = _translations()
    missing = [f"{name}[{code}] = {label}" for name, labels in _label_dicts().items()
               for code, label in labels.items() if not translations.get(label)]
    assert not missing, "\n".join(missing)


def test_run_time_labels_are_translated_by_the_tr_filter(app):
    from tenants.models import SCHOOL_KINDS

    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        template = app.jinja_env.from_string("{{ label|tr }}|{{ none|tr }}|{{ '100%'|tr }}")
        assert template.render(label=SCHOOL_KINDS["primary"], none=None) == "Primary school|None|100%"
    with app.test_request_context("/"):
        assert app.jinja_env.from_string("{{ label|tr }}").render(label=SCHOOL_KINDS["primary"]) == "小学"


# --- pages in English --------------------------------------------------------------------------

class _Chrome(HTMLParser):
    """Collects the text of the main navigation, the headings and the buttons of a page."""

    WATCHED = {"h1", "h2", "h3", "h4", "h5", "th", "button", "label", "nav"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.texts: list[str] = []
        self.in_brand = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "meta", "br", "hr", "img", "link"):
            return
        self.stack.append(tag)
        if "navbar-brand" in (attrs.get("class") or ""):
            self.in_brand = len(self.stack)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass
        if self.in_brand and len(self.stack) < self.in_brand:
            self.in_brand = 0

    def handle_data(self, data):
        if data.strip() and not self.in_brand and self.WATCHED & set(self.stack):
            self.texts.append(data.strip())


def _chinese_chrome(html: str, data: tuple[str, ...] = ()) -> list[str]:
    """Texts of nav/headings/buttons/labels with Chinese in them, ignoring user data (names) and
    the language switch, which names Chinese in Chinese."""
    parser = _Chrome()
    parser.feed(html)
    left = []
    for text in parser.texts:
        for value in data + ("中文",):
            text = text.replace(value, "")
        if CJK.search(text):
            left.append(text)
    return left


def _english(client):
    client.set_cookie("lang", "en")
    return client


SCHOOL_NAMES = ("一区甲小学", "一区乙中学", "一区教育工会")


def test_login_page_in_english(client):
    html = _english(client).get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Sign in to Jianjia" in html
    assert _chinese_chrome(html) == []
    assert not CJK.search(re.search(r"<title>(.*?)</title>", html, re.S).group(1))


def test_district_home_in_english(login_as):
    client = _english(login_as("d1admin"))
    html = client.get("/d/d1/").get_data(as_text=True)
    nav = re.search(r'<ul class="navbar-nav me-auto">(.*?)</ul>', html, re.S).group(1)
    for label in ("Schools", "Users", "Bulk import", "Rubric", "Audit log"):
        assert label in nav
    assert not CJK.search(re.sub(r"<[^>]+>", "", nav))
    assert _chinese_chrome(html, SCHOOL_NAMES) == []


def test_school_home_in_english(login_as, world):
    client = _english(login_as("chair1a"))
    html = client.get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    nav = re.search(r'<ul class="navbar-nav me-auto">(.*?)</ul>', html, re.S).group(1)
    for label in ("My school", "Work plan", "Activity records"):
        assert label in nav
    assert not CJK.search(re.sub(r"<[^>]+>", "", nav))
    assert _chinese_chrome(html, SCHOOL_NAMES) == []
    assert "Primary school" in html  # the school kind, a run-time label


@pytest.mark.parametrize("path", ["/d/d1/users", "/d/d1/rubrics/", "/d/d1/rounds/", "/d/d1/audit"])
def test_district_pages_in_english(login_as, path):
    html = _english(login_as("d1admin")).get(path).get_data(as_text=True)
    assert _chinese_chrome(html, SCHOOL_NAMES) == []


def test_zh_cn_is_the_default(client, login_as, world):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "登录建家平台" in html and "Sign in to Jianjia" not in html
    html = login_as("chair1a").get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    assert "我的学校" in html and "My school" not in html


def test_the_language_switch_sets_the_cookie_and_comes_back(login_as, world):
    client = login_as("chair1a")
    home = f"/d/d1/s/{world.s1a}/"
    response = client.get(f"/lang/en?next={home}")
    assert response.status_code == 302 and response.headers["Location"].endswith(home)
    assert "lang=en" in response.headers["Set-Cookie"]
    html = client.get(home).get_data(as_text=True)
    assert "My school" in html and '<html lang="en">' in html
    assert 'href="/lang/zh_CN' in html  # the switch back
    client.get(f"/lang/zh_CN?next={home}")
    assert "我的学校" in client.get(home).get_data(as_text=True)
    # an unknown language is ignored; an outside "next" is not followed
    response = client.get("/lang/fr?next=https://evil.example/")
    assert "lang=" not in response.headers.get("Set-Cookie", "")
    assert "evil.example" not in response.headers["Location"]


def test_flash_and_error_messages_in_english(client):
    client = _english(client)
    response = client.get("/d/d1/", follow_redirects=True)
    assert "Please sign in first" in response.get_data(as_text=True)
    from tests.conftest import csrf_token

    token = csrf_token(client)
    html = client.post("/login", data={"username": "nobody", "password": "wrong-password-1",
                                       "csrf_token": token}).get_data(as_text=True)
    assert "Incorrect user name or password" in html


def test_month_labels_follow_the_locale(app):
    from app.activities.services import month_label, slot_label

    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert month_label(3) == "March" and slot_label([7, 8]) == "July, August"
    with app.test_request_context("/"):
        assert month_label(3) == "三月" and slot_label([7, 8]) == "七、八月"
    with app.app_context():  # exports and jobs outside a request keep the Chinese form
        assert slot_label([7, 8]) == "七、八月"
