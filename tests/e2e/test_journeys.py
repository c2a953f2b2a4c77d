"""End-to-end journeys in headless Chromium against the live app on 127.0.0.1."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

NEW_SCHOOL = "一区丙幼儿园"
OTHER_SCHOOLS = ("一区甲小学", "一区乙中学", "二区甲小学")
CHAIR_TEMP_PASSWORD = "Chair1c-temp-2026"
CHAIR_NEW_PASSWORD = "Chair1c-mine-2026"


def nav_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("#mainnav .navbar-nav.me-auto .nav-link").all_inner_texts()]


def body_text(page) -> str:
    return page.inner_text("body")


def assert_no_other_school(page, where: str):
    text = page.content()  # markup too: a name in an <option> or a title attribute leaks as well
    leaked = [name for name in OTHER_SCHOOLS if name in text]
    assert not leaked, f"{where}: the page names other schools {leaked}"


def test_district_admin_creates_school_and_chair_who_sees_only_their_school(new_page, artifacts, live_server):
    base, world = live_server.url, live_server.world
    page, traffic = new_page()

    # --- d1admin: log in (Chinese UI) and land on the district's school list ------------------
    page.goto(base + "/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "登录" in body_text(page)
    assert page.inner_text("#login-submit").strip() == "登录"
    login(page, base, "d1admin")
    assert page.url == f"{base}/d/d1/", page.url
    assert page.is_visible("#schools-table")
    assert "一区教育工会" in page.inner_text("h1")

    # --- new school ---------------------------------------------------------------------------
    page.click("#new-school")
    page.wait_for_url(f"{base}/d/d1/schools/new")
    assert "新增学校" in page.inner_text("h1")
    page.fill("#name", NEW_SCHOOL)
    page.select_option("#kind", label="幼儿园")
    page.fill("#code", "C1")
    page.fill("#staff_count", "25")
    page.fill("#member_count", "22")
    page.click("#save-school")
    page.wait_for_url(f"{base}/d/d1/")
    assert f"已新增学校 {NEW_SCHOOL}" in page.inner_text(".alert-success")
    row = page.locator("#schools-table tbody tr", has_text=NEW_SCHOOL)
    assert row.count() == 1
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[0] == NEW_SCHOOL and cells[1] == "幼儿园" and cells[3:5] == ["25", "22"], cells

    # --- 用户 → 新建用户: the school's union chair ---------------------------------------------
    page.get_by_role("link", name="用户", exact=True).click()
    page.wait_for_url(f"{base}/d/d1/users")
    page.click("#new-user")
    page.wait_for_url(f"{base}/d/d1/users/new")
    page.fill("#username", "chair1c")
    page.fill("#display_name", "丙园主席")
    page.fill("#password", CHAIR_TEMP_PASSWORD)
    page.select_option("#role", label="学校工会主席")
    page.select_option("#school_id", label=NEW_SCHOOL)
    page.click("#save-user")
    page.wait_for_url(f"{base}/d/d1/users")
    assert "已新建用户 丙园主席（chair1c）" in page.inner_text(".alert-success")
    user_row = page.locator("#users-table tbody tr", has_text="chair1c")
    assert "学校工会主席 · " + NEW_SCHOOL in user_row.inner_text()

    # --- log out through the user menu -----------------------------------------------------------
    assert not page.is_visible("#logout")
    page.click("#usermenu")
    page.locator("#logout").wait_for(state="visible")
    page.click("#logout")
    page.wait_for_url(re.compile(re.escape(base) + r"/login$"))
    assert "您已安全退出" in body_text(page)
    page.goto(base + "/d/d1/")  # really logged out: sent back to the login page
    assert page.url.startswith(base + "/login")

    # --- chair1c: first login forces a new password ------------------------------------------------
    login(page, base, "chair1c", CHAIR_TEMP_PASSWORD)
    assert page.url == f"{base}/account/password", page.url
    assert "首次登录请先修改密码" in body_text(page)
    page.goto(base + "/")  # nothing else is reachable before the password is changed
    assert page.url == f"{base}/account/password"
    page.fill("#current", CHAIR_TEMP_PASSWORD)
    page.fill("#new", CHAIR_NEW_PASSWORD)
    page.fill("#confirm", CHAIR_NEW_PASSWORD)
    page.get_by_role("button", name="保存新密码").click()
    page.wait_for_url(re.compile(re.escape(base) + r"/d/d1/s/\d+/$"))
    assert "密码已修改" in body_text(page)
    assert page.inner_text("#school-name").strip() == NEW_SCHOOL
    assert "丙园主席" in page.inner_text("#school-people")
    own_school_path = page.url[len(base):]
    assert own_school_path != f"/d/d1/s/{world.s1a}/"

    # The chair's navigation: their school, nothing district-wide.
    labels = nav_labels(page)
    assert labels, "the chair has no navigation at all"
    for forbidden in ("用户", "批量导入", "学校"):
        assert forbidden not in labels, f"chair1c sees the {forbidden} link: {labels}"
    assert "我的学校" in labels
    for href in page.locator("#mainnav a.nav-link").evaluate_all("els => els.map(e => e.getAttribute('href'))"):
        assert href in ("#",) or not href.startswith("/d/d1/") or href.startswith(own_school_path), href
    assert_no_other_school(page, "own school page")
    page.screenshot(path=str(artifacts / "chair-school-home.png"), full_page=True)

    # --- URLs the chair may not open -----------------------------------------------------------------
    response = page.goto(base + "/d/d1/")
    assert response.status == 403
    assert "您没有权限执行此操作" in body_text(page)
    assert_no_other_school(page, "/d/d1/")

    response = page.goto(f"{base}/d/d1/s/{world.s1a}/")
    assert response.status == 404
    assert "页面不存在或您无权访问" in body_text(page)
    assert_no_other_school(page, "another school of d1")

    response = page.goto(base + "/d/d2/")
    assert response.status == 404
    assert "页面不存在或您无权访问" in body_text(page)
    assert "二区" not in page.content(), "a 404 for another district still names it"
    assert_no_other_school(page, "/d/d2/")

    # Still logged in, still home: the denials were not a logout.
    page.goto(base + "/")
    assert page.url == base + own_school_path
    assert page.inner_text("#school-name").strip() == NEW_SCHOOL
    assert_no_other_school(page, "home again")

    traffic.assert_clean()


def _no_horizontal_overflow(page) -> tuple[int, int]:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner + 1, f"page scrolls sideways: scrollWidth {width} > innerWidth {inner}"
    return width, inner


def _styles_loaded(page):
    """Bootstrap and app.css came from this server and apply (no CDN, nothing blocked by CSP)."""
    sheets = page.evaluate("Array.from(document.styleSheets).map(s => s.href)")
    assert any(h and "bootstrap" in h and h.endswith(".css") for h in sheets), sheets
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    assert page.evaluate("getComputedStyle(document.querySelector('#new-school')).backgroundColor") \
        not in ("rgba(0, 0, 0, 0)", "transparent")
    assert page.evaluate("typeof bootstrap") == "object", "bootstrap.bundle.js did not run"


def test_school_list_layout_on_desktop_and_phone(new_page, artifacts, live_server):
    base = live_server.url

    desk, desk_traffic = new_page(1366, 768)
    login(desk, base, "d1admin")
    assert desk.url == f"{base}/d/d1/"
    _styles_loaded(desk)
    _no_horizontal_overflow(desk)
    assert not desk.is_visible(".navbar-toggler"), "the desktop shows the phone menu button"
    assert desk.get_by_role("link", name="用户", exact=True).is_visible()
    assert desk.locator("#schools-table tbody tr").count() == 2
    desk.screenshot(path=str(artifacts / "schools-desktop-1366x768.png"), full_page=True)
    desk_traffic.assert_clean()

    phone, phone_traffic = new_page(390, 844)
    login(phone, base, "d1admin")
    assert phone.url == f"{base}/d/d1/"
    _styles_loaded(phone)
    _no_horizontal_overflow(phone)
    phone.screenshot(path=str(artifacts / "schools-phone-390x844.png"), full_page=True)

    toggler = phone.locator(".navbar-toggler")
    users_link = phone.get_by_role("link", name="用户", exact=True)
    assert toggler.is_visible()
    assert toggler.get_attribute("aria-expanded") == "false"
    assert not users_link.is_visible(), "the phone menu is open before the toggler is used"
    toggler.click()
    users_link.wait_for(state="visible")
    # (wait_for_function would need eval, which the app's CSP rightly forbids)
    phone.locator("#mainnav.show").wait_for(state="visible")
    assert toggler.get_attribute("aria-expanded") == "true"
    _no_horizontal_overflow(phone)
    phone.screenshot(path=str(artifacts / "schools-phone-390x844-menu.png"))
    toggler.click()  # and it closes again
    users_link.wait_for(state="hidden")
    assert toggler.get_attribute("aria-expanded") == "false"

    # The menu's links work on the phone.
    toggler.click()
    users_link.click()
    phone.wait_for_url(f"{base}/d/d1/users")
    _no_horizontal_overflow(phone)
    phone_traffic.assert_clean()


def test_school_form_error_keeps_typed_input(new_page, live_server):
    base = live_server.url
    page, traffic = new_page()
    login(page, base, "d1admin")
    page.goto(base + "/d/d1/schools/new")

    typed = {"#name": "一区甲小学", "#code": "Z9", "#staff_count": "33", "#member_count": "30",
             "#address": "建设路 12 号"}
    for selector, value in typed.items():
        page.fill(selector, value)
    page.select_option("#kind", "junior")
    page.click("#save-school")
    page.wait_for_load_state()

    assert page.url == f"{base}/d/d1/schools/new", "a duplicate name was accepted"
    error = page.locator("#name ~ .invalid-feedback")
    assert error.inner_text().strip() == "学校 一区甲小学 已存在"
    assert "is-invalid" in page.get_attribute("#name", "class")
    for selector, value in typed.items():
        assert page.input_value(selector) == value, f"{selector} lost what was typed"
    assert page.input_value("#kind") == "junior"

    # A validation error (more members than staff) keeps the input the same way.
    page.fill("#name", "一区丁中学")
    page.fill("#member_count", "40")
    page.click("#save-school")
    page.wait_for_load_state()
    assert "会员数不能多于教职工数" in page.inner_text("body")
    assert page.input_value("#name") == "一区丁中学"
    assert page.input_value("#member_count") == "40"
    assert page.input_value("#address") == typed["#address"]
    assert page.input_value("#kind") == "junior"

    # Nothing was saved by either attempt.
    page.goto(base + "/d/d1/")
    names = page.locator("#schools-table tbody tr td:first-child").all_inner_texts()
    assert sorted(n.strip() for n in names) == sorted(["一区甲小学", "一区乙中学"])
    traffic.assert_clean()

