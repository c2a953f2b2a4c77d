"""Tests for the annual work plan parser (app/plans/parser.py) and its CLI command."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from app.plans.cli import parse_command
from app.plans.parser import (
    CATEGORY_LABELS,
    ParsedPlan,
    PlanParseError,
    all_text,
    parse_plan_file,
    parse_plan_text,
    suggest_category,
)

# shared/ sits beside the project root (here and in CI).
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "plans"
SAMPLE_002 = SAMPLES / "002_5714f57b4cff8f47.txt"
SAMPLE_004 = SAMPLES / "004_008f8425e77873c9.txt"

# --------------------------------------------------------------------------- helpers

# The parser may cut text at these separators and numbering markers and trim these
# characters, so every piece of a line between them must still be in the output.
_CN = "一二三四五六七八九十百〇零"
_CUTS = re.compile(
    rf"第[{_CN}\d]{{1,4}}(?:部分|章|篇)"
    rf"|[（(]\s*[{_CN}\d]{{1,4}}\s*[）)]"
    rf"|[{_CN}]{{1,4}}\s*[、.．，,]"
    r"|\d{1,3}\s*[.．、，,)）]"
    r"|[①-⑳❶-❿➀-➉⑴-⒇⒈-⒛㈠-㈩]"
    r"|[\s；;。！!？?:：、.．，,)）—]+"
    # a month label (九月份工作安排) is kept apart from the text after it
    r"|[一二三四五六七八九十元\d]+\s*月份?(?:(?:主要)?(?:工作|活动)(?:安排|重点|计划|内容)?)?"
)
_TRIM = " \t\u3000：:；;，,、。.．!！?？)）—"


def fragments(line: str) -> list[str]:
    return [piece.strip(_TRIM) for piece in _CUTS.split(line.strip()) if piece.strip(_TRIM)]


def assert_nothing_lost(text: str, parsed: ParsedPlan) -> None:
    haystack = all_text(parsed)
    for line in text.splitlines():
        for piece in fragments(line):
            assert piece in haystack, f"lost {piece!r} from line {line!r}"


def assert_whole_lines_kept(text: str, parsed: ParsedPlan) -> None:
    """Stricter check for real plans: each line, minus numbering and trailing punctuation, is kept
    whole, or (for schedule lines split into activities) each of its sentences is."""
    haystack = all_text(parsed)
    for line in text.splitlines():
        core = re.sub(r"^(?:[一二三四五六七八九十]+、(?![一二三四五六七八九十]月)|\d+[.、]|[.、])", "", line.strip())
        core = core.strip(_TRIM)
        if not core or core in haystack:
            continue
        for sentence in re.split(r"[；;。:：]", core):
            assert sentence.strip(_TRIM) in haystack, f"lost {sentence!r} from line {line!r}"


def plan_of(text: str) -> ParsedPlan:
    parsed = parse_plan_text(text)
    assert_nothing_lost(text, parsed)
    return parsed


def months_and_counts(parsed: ParsedPlan) -> list[tuple[list[int], int]]:
    return [(slot.months, len(slot.activities)) for slot in parsed.schedule]


# --------------------------------------------------------------------------- the two real samples


def test_sample_002_schedule():
    parsed = parse_plan_file(SAMPLE_002.name, SAMPLE_002.read_bytes())
    assert months_and_counts(parsed) == [
        ([2], 2), ([3], 2), ([4], 2), ([5], 2), ([6], 3), ([7, 8], 1), ([9], 4), ([10], 2),
    ]
    assert parsed.schedule[0].activities == ["制定工会工作计划", "召开工会小组会"]
    assert parsed.schedule[5].activities == ["组织教师考察学习"]
    # "、开展师德师风活动。" lost its number in the source but is still an activity of 九月
    assert parsed.schedule[6].activities[-1] == "开展师德师风活动"


def test_sample_002_sections_and_rest():
    text = SAMPLE_002.read_text(encoding="utf-8")
    parsed = parse_plan_text(text)
    assert [(s.title, len(s.items)) for s in parsed.sections] == [
        ("学习贯彻xx届六中全会精神，大力推进和谐校园建设", 2),
        ("以“创建学习型学校”建设为载体，努力提高教师整体素质", 1),
        ("建立健全有效的维权机制，不断深化民主管理", 1),
        ("加强工会自身建设，以适应新形势新特点", 3),
        ("继续做好送温暖工程", 5),
        ("认真做好计划生育工作", 1),
        ("组织开展丰富多彩的文体活动，提高教师身体素质", 2),
    ]
    assert parsed.sections[4].items[1:] == [
        "进一步落实“送温暖”六项制度",
        "关心单亲学生和特困学生",
        "关心外来民工子女的就读",
        "在关心教职工生活的同时，不断提高教职工的生活质量",
    ]
    # no 指导思想 heading: the opening paragraph is the guiding ideology
    assert parsed.guiding_ideology.startswith("学校工会将以渝水区教育工会工作为指导")
    assert parsed.measures == []
    assert parsed.unclassified == ["工会年度工作计划表"]
    assert parsed.structural_headings == ["活动安排"]
    assert_nothing_lost(text, parsed)
    assert_whole_lines_kept(text, parsed)


def test_sample_004_schedule():
    parsed = parse_plan_file(SAMPLE_004.name, SAMPLE_004.read_bytes())
    assert months_and_counts(parsed) == [
        ([1, 2], 3), ([3], 2), ([4], 2), ([5], 3), ([6], 4),
        ([7, 8], 3), ([9], 4), ([10], 2), ([11], 3), ([12], 1),
    ]
    assert parsed.schedule[0].activities == [
        "开展送温暖活动，慰问教职工", "建立工会会员档案", "召开第一届工会委员会议，明确工作目标",
    ]
    # ".五月" lost its number in the source
    assert parsed.schedule[3].label == "五月"
    assert parsed.schedule[1].activities[0] == "庆祝“三·八”妇女节，慰问女教工，开展女工活动"


def test_sample_004_sections_measures_and_rest():
    text = SAMPLE_004.read_text(encoding="utf-8")
    parsed = parse_plan_text(text)
    assert [(s.title, len(s.items)) for s in parsed.sections] == [("工作内容", 9)]
    assert parsed.sections[0].items[0] == "建立“学习型”小组，争创“学习型”先进单位。"
    # 总的要求 is read as the guiding ideology (documented in the parser)
    assert parsed.guiding_ideology.startswith("以党的十七大全会精神和“三个代表”重要思想为指导")
    assert len(parsed.measures) == 11
    assert parsed.measures[0] == "积极争取党支部、行政领导支持，扩大工会组织的影响力。"
    assert parsed.measures[5] == "三要搞好宣传工作"
    assert parsed.unclassified == ["学校工会年度2023工作计划范文"]
    assert parsed.structural_headings == ["总的要求", "落实措施", "活动安排"]
    assert_nothing_lost(text, parsed)
    assert_whole_lines_kept(text, parsed)


def test_sample_categories():
    parsed = parse_plan_file(SAMPLE_004.name, SAMPLE_004.read_bytes())
    for entry in parsed.items_with_categories() + parsed.activities_with_categories():
        assert entry["category"] in CATEGORY_LABELS
    by_text = {a["text"]: a["category"] for a in parsed.activities_with_categories()}
    assert by_text["召开教代会"] == "democratic_management"
    assert by_text["教工拔河比赛"] == "culture_sports"
    assert by_text["建立工会会员档案"] == "self_building"


# --------------------------------------------------------------------------- headings and sections


def test_to_dict_has_exactly_the_agreed_keys():
    result = plan_of("一、主要工作\n1.召开教代会\n活动安排\n三月：植树").to_dict()
    assert list(result) == ["guiding_ideology", "sections", "measures", "schedule", "unclassified"]
    assert list(result["sections"][0]) == ["title", "items"]
    assert list(result["schedule"][0]) == ["months", "activities"]
    json.dumps(result, ensure_ascii=False)


def test_standard_plan_with_all_parts():
    text = """
某某小学工会2024年工作计划
一、指导思想
以习近平新时代中国特色社会主义思想为指导，全心全意依靠教职工办学。
二、工作目标
1.争创区级先进教工之家。
2.教代会提案落实率达到100%。
三、主要工作
（一）加强民主管理
1.按时召开教代会，认真做好提案征集。
2.坚持校务公开。
（二）关心教职工生活
1．春节前走访慰问困难教职工。
四、保障措施
（一）加强领导。成立工会工作领导小组。
（二）经费保障
五、月工作安排
二月份：制定工会工作计划；春节送温暖。
三月份
1、开展“三八”妇女节活动
2、女教工健康体检
某某小学工会
2024年2月20日
"""
    parsed = plan_of(text)
    assert parsed.guiding_ideology == "以习近平新时代中国特色社会主义思想为指导，全心全意依靠教职工办学。"
    assert [(s.title, s.items) for s in parsed.sections] == [
        ("工作目标", ["争创区级先进教工之家。", "教代会提案落实率达到100%。"]),
        ("主要工作", []),
        ("加强民主管理", ["按时召开教代会，认真做好提案征集。", "坚持校务公开。"]),
        ("关心教职工生活", ["春节前走访慰问困难教职工。"]),
    ]
    assert parsed.measures == ["加强领导", "成立工会工作领导小组。", "经费保障"]
    assert months_and_counts(parsed) == [([2], 2), ([3], 2)]
    assert parsed.schedule[1].activities == ["开展“三八”妇女节活动", "女教工健康体检"]
    assert parsed.unclassified == ["某某小学工会2024年工作计划", "某某小学工会", "2024年2月20日"]
    assert parsed.structural_headings == ["指导思想", "保障措施", "月工作安排"]


def test_heading_with_inline_content_and_part_style():
    text = "第一部分 指导思想：以人为本，服务教职工。\n第二部分 重点工作\n一、建家工作\n争创模范教工之家。"
    parsed = plan_of(text)
    assert parsed.guiding_ideology == "以人为本，服务教职工。"
    assert [(s.title, s.items) for s in parsed.sections] == [
        ("重点工作", []),
        ("建家工作", ["争创模范教工之家。"]),
    ]


def test_preamble_is_unclassified_when_there_is_a_guiding_ideology_heading():
    text = "为做好本年度工会工作，特制定本计划。\n一、指导思想\n以人为本。\n二、主要工作\n做好送温暖。"
    parsed = plan_of(text)
    assert parsed.guiding_ideology == "以人为本。"
    assert parsed.unclassified == ["为做好本年度工会工作，特制定本计划。"]


def test_second_guiding_heading_stays_a_section():
    parsed = plan_of("一、指导思想\n甲。\n二、总体要求\n乙。")
    assert parsed.guiding_ideology == "甲。"
    assert [(s.title, s.items) for s in parsed.sections] == [("总体要求", ["乙。"])]


def test_arabic_only_section_headings():
    text = "1.指导思想\n坚持以人为本。\n2.主要工作\n召开教代会。\n做好送温暖工作。"
    parsed = plan_of(text)
    assert parsed.guiding_ideology == "坚持以人为本。"
    assert [(s.title, s.items) for s in parsed.sections] == [
        ("主要工作", ["召开教代会。", "做好送温暖工作。"]),
    ]


def test_unnumbered_headings():
    text = "指导思想\n以人为本。\n工作目标\n1.争创先进教工之家\n保障措施：\n1.经费保障\n活动安排\n三月：三八节"
    parsed = plan_of(text)
    assert parsed.guiding_ideology == "以人为本。"
    assert [(s.title, s.items) for s in parsed.sections] == [("工作目标", ["争创先进教工之家"])]
    assert parsed.measures == ["经费保障"]
    assert months_and_counts(parsed) == [([3], 1)]
    assert parsed.structural_headings == ["指导思想", "保障措施", "活动安排"]


def test_section_holding_only_months_is_the_schedule():
    parsed = plan_of("一、主要工作\n召开教代会。\n二、全年活动\n三月：三八节\n九月：教师节")
    assert [s.title for s in parsed.sections] == ["主要工作"]
    assert months_and_counts(parsed) == [([3], 1), ([9], 1)]
    assert parsed.structural_headings == ["全年活动"]


def test_schedule_heading_without_months_is_a_section():
    parsed = plan_of("一、主要工作安排\n召开教代会。\n二、其他\n做好宣传。")
    assert parsed.schedule == []
    assert [s.title for s in parsed.sections] == ["主要工作安排", "其他"]


def test_date_inside_a_section_is_not_a_month_slot():
    parsed = plan_of("一、女工工作\n3月8日组织女教工登山。\n9月 新会员入会")
    assert parsed.sections[0].items == ["3月8日组织女教工登山。"]
    # a month followed by a space is a slot even outside a schedule heading
    assert months_and_counts(parsed) == [([9], 1)]


def test_numbering_only_lines_go_to_unclassified():
    parsed = plan_of("一、主要工作\n1.\n召开教代会")
    assert parsed.sections[0].items == ["召开教代会"]
    assert parsed.unclassified == ["1."]


def test_plan_without_any_heading_is_all_guiding_ideology():
    parsed = plan_of("坚持以人为本，全心全意为教职工服务。\n努力建设教工之家。")
    assert parsed.guiding_ideology == "坚持以人为本，全心全意为教职工服务。\n努力建设教工之家。"
    assert parsed.sections == [] and parsed.schedule == []


# --------------------------------------------------------------------------- month slots and activities


@pytest.mark.parametrize(
    ("label", "months"),
    [
        ("二月", [2]),
        ("二月份", [2]),
        ("一、二月", [1, 2]),
        ("七、八月份", [7, 8]),
        ("9月", [9]),
        ("九月份", [9]),
        ("1-2月", [1, 2]),
        ("1—3月份", [1, 2, 3]),
        ("十二月", [12]),
        ("十一月", [11]),
        ("十月", [10]),
        ("元月", [1]),
        ("12-2月", [12, 1, 2]),
        ("七月、八月", [7, 8]),
        ("９月", [9]),
        ("2024年3月", [3]),
        ("九月份工作安排", [9]),
        ("1、2月", [1, 2]),
    ],
)
def test_month_labels(label, months):
    for line in (label, label + "：", f"1.{label}", f"（一）{label}"):
        parsed = plan_of(f"活动安排\n{line}\n召开会议")
        assert months_and_counts(parsed) == [(months, 1)], line
        assert parsed.schedule[0].label == label


def test_numbered_activities():
    parsed = plan_of("四、活动安排\n二月：\n1.制定计划\n2、召开工会小组会\n③慰问困难教师\n(4)召开委员会")
    assert parsed.schedule[0].activities == ["制定计划", "召开工会小组会", "慰问困难教师", "召开委员会"]


def test_running_text_activities():
    text = "工作行事历\n九月份：庆祝教师节；慰问退休教师;新会员入会。调整工会小组\n十月 ①国庆慰问②教工秋游"
    parsed = plan_of(text)
    assert parsed.schedule[0].activities == ["庆祝教师节", "慰问退休教师", "新会员入会", "调整工会小组"]
    assert parsed.schedule[1].activities == ["国庆慰问", "教工秋游"]


def test_sentence_split_respects_quotes():
    parsed = plan_of("活动安排\n三月：开展“读一本书。写一篇心得”活动。女教工登山")
    assert parsed.schedule[0].activities == ["开展“读一本书。写一篇心得”活动", "女教工登山"]


def test_loose_month_only_under_a_schedule_heading():
    parsed = plan_of("三、月工作安排\n三月开展植树活动\n四月份组织春游")
    assert months_and_counts(parsed) == [([3], 1), ([4], 1)]
    assert parsed.schedule[0].activities == ["开展植树活动"]


def test_two_month_slots_in_numbered_list():
    parsed = plan_of("活动安排\n1.一、二月\n送温暖\n2.七、八月份\n暑期疗养\n3.9-10月：秋季运动会")
    assert months_and_counts(parsed) == [([1, 2], 1), ([7, 8], 1), ([9, 10], 1)]


def test_numbering_before_a_single_month_is_not_a_month_list():
    parsed = plan_of("活动安排\n3、9月：庆祝教师节")
    assert months_and_counts(parsed) == [([9], 1)]


def test_schedule_with_semester_subheadings():
    text = "一、指导思想\n略。\n二、活动安排\n（一）上学期\n九月：教师节\n（二）下学期\n三月：三八节\n注：如有变动另行通知"
    parsed = plan_of(text)
    assert months_and_counts(parsed) == [([9], 1), ([3], 1)]
    assert parsed.sections == []
    assert parsed.unclassified == ["注：如有变动另行通知"]
    assert parsed.structural_headings == ["指导思想", "活动安排", "上学期", "下学期"]


def test_text_before_first_month_under_schedule_heading_is_unclassified():
    parsed = plan_of("活动安排：\n三月：三八节\n")
    assert parsed.unclassified == []
    parsed = plan_of("一、活动安排\n具体如下\n三月：三八节")
    assert parsed.unclassified == ["具体如下"]


# --------------------------------------------------------------------------- categories


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("召开第三届教代会第二次会议", "democratic_management"),
        ("完善校务公开栏", "openness"),
        ("开展师德师风建设活动", "ethics"),
        ("争创市级模范教工之家", "home_building"),
        ("春节前走访慰问困难教职工", "care"),
        ("举办教职工羽毛球比赛", "culture_sports"),
        ("庆祝三八妇女节，组织女教工活动", "women"),
        ("做好工会宣传报道工作", "publicity"),
        ("加强工会干部队伍建设", "self_building"),
        ("植树", "other"),
    ],
)
def test_suggest_category(text, code):
    assert suggest_category(text) == code


def test_category_labels_cover_all_codes():
    assert set(CATEGORY_LABELS) == {
        "democratic_management", "openness", "ethics", "home_building", "care",
        "culture_sports", "women", "publicity", "self_building", "other",
    }
    assert CATEGORY_LABELS["other"] == "其他"


def test_items_fall_back_to_section_category():
    parsed = plan_of("一、师德建设\n开展读书活动。\n召开教代会。")
    assert parsed.items_with_categories() == [
        {"section": "师德建设", "text": "开展读书活动。", "category": "ethics"},
        {"section": "师德建设", "text": "召开教代会。", "category": "democratic_management"},
    ]


# --------------------------------------------------------------------------- files


def test_txt_encodings():
    text = "一、主要工作\n召开教代会\n"
    for data in (
        text.encode("utf-8"),
        b"\xef\xbb\xbf" + text.encode("utf-8"),
        text.encode("gb18030"),
        text.encode("utf-16"),
    ):
        parsed = parse_plan_file("plan.txt", data)
        assert [(s.title, s.items) for s in parsed.sections] == [("主要工作", ["召开教代会"])]


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("plan.pdf", b"%PDF-1.4", "不支持的文件类型"),
        ("plan", b"abc", "不支持的文件类型"),
        ("plan.doc", b"\xd0\xcf\x11\xe0", ".doc"),
        ("plan.docx", "一、主要工作".encode(), "不是有效的 Word"),
        ("plan.docx", b"PK\x03\x04garbage", "不是有效的 Word"),
        ("plan.txt", b"PK\x03\x04\x14\x00", "不是纯文本"),
        ("plan.txt", b"a\x00b", "不是纯文本"),
        ("plan.txt", b"", "文件为空"),
    ],
)
def test_rejected_files(filename, data, message):
    with pytest.raises(PlanParseError, match=re.escape(message)):
        parse_plan_file(filename, data)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_docx_zip_bomb_guards():
    too_many = _zip({f"word/f{i}.xml": b"x" for i in range(1001)})
    with pytest.raises(PlanParseError, match="文件数超过"):
        parse_plan_file("plan.docx", too_many)
    too_big = _zip({"word/document.xml": b"\0" * (51 * 1024 * 1024)})
    with pytest.raises(PlanParseError, match="超过 50 MB"):
        parse_plan_file("plan.docx", too_big)
    high_ratio = _zip({"word/document.xml": b"\0" * (2 * 1024 * 1024)})
    with pytest.raises(PlanParseError, match="压缩比"):
        parse_plan_file("plan.docx", high_ratio)
    not_word = _zip({"hello.txt": b"hello world"})
    with pytest.raises(PlanParseError, match="不是有效的 Word"):
        parse_plan_file("plan.docx", not_word)
    broken_word = _zip({"word/document.xml": b"<w:document", "[Content_Types].xml": b"<x/>"})
    with pytest.raises(PlanParseError, match="无法读取"):
        parse_plan_file("plan.docx", broken_word)


def _docx_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _plan_docx() -> bytes:
    document = docx.Document()
    document.add_heading("阳光小学工会2024年工作计划", level=0)
    document.add_heading("指导思想", level=1)  # Word heading style, no typed number
    document.add_paragraph("以人为本，依法维权。")
    document.add_paragraph("一、主要工作")
    document.add_paragraph("1.召开教代会，审议学校发展规划。")
    document.add_paragraph("2.开展送温暖活动。")
    document.add_paragraph("二、活动安排")
    table = document.add_table(rows=5, cols=2)
    rows = [
        ("月份", "活动内容"),
        ("二月", "制定工会工作计划；召开工会小组会"),
        ("三月份", "1.庆祝三八节"),
        ("七、八月", "暑期教师疗养"),
    ]
    for row, (month, content) in zip(table.rows, rows):
        row.cells[0].text = month
        row.cells[1].text = content
    table.rows[2].cells[1].add_paragraph("2.女教工登山")
    merged = table.rows[4].cells[0].merge(table.rows[4].cells[1])
    merged.text = "备注：如有变动另行通知"
    document.add_paragraph("阳光小学工会")
    return _docx_bytes(document)


def _docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(lines)


def test_docx_with_table_schedule():
    data = _plan_docx()
    parsed = parse_plan_file("计划.DOCX", data)
    assert parsed.guiding_ideology == "以人为本，依法维权。"
    assert [(s.title, s.items) for s in parsed.sections] == [
        ("主要工作", ["召开教代会，审议学校发展规划。", "开展送温暖活动。"]),
    ]
    assert months_and_counts(parsed) == [([2], 2), ([3], 2), ([7, 8], 1)]
    assert parsed.schedule[1].activities == ["庆祝三八节", "女教工登山"]
    # the merged cell is read once; the table header and the note are kept aside
    assert parsed.unclassified == [
        "阳光小学工会2024年工作计划", "月份", "活动内容", "备注：如有变动另行通知", "阳光小学工会",
    ]
    assert_nothing_lost(_docx_text(data), parsed)


def test_docx_extension_does_not_make_text_a_docx():
    data = _plan_docx()
    with pytest.raises(PlanParseError):
        parse_plan_file("plan.txt", data)
    # and a docx renamed to anything else is refused
    with pytest.raises(PlanParseError):
        parse_plan_file("plan.zip", data)


def test_truncated_docx_never_crashes():
    data = _plan_docx()
    rng = random.Random(7)
    for _ in range(40):
        cut = rng.randrange(len(data))
        mutated = bytearray(data[:cut] if rng.random() < 0.5 else data)
        for _ in range(rng.randrange(1, 20)):
            if mutated:
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            parse_plan_file("plan.docx", bytes(mutated))
        except PlanParseError:
            pass


# --------------------------------------------------------------------------- never crash, nothing lost

_POOL = [
    "一、", "二、", "十二、", "（一）", "(三)", "㈡", "1.", "2、", "３．", "10)", "（4）", "①", "⑵", "⒊",
    "第一部分", "第三章 ", "、", ".", "．", "一是", "二月", "二月份", "一、二月", "七、八月份", "9月",
    "九月份", "1-2月", "十二月", "12—1月", "3月8日", "九月底", "元月", "月", "年", "2024年", "月份",
    "指导思想", "工作目标", "落实措施", "保障措施", "活动安排", "月工作安排", "工作行事历", "主要工作",
    "总的要求", "召开教代会", "送温暖", "校务公开", "师德", "建家", "文体活动", "女工", "宣传",
    "：", ":", "；", ";", "。", "，", "“", "”", "《", "》", "（", "）", "(", ")", "！", "？", "\t",
    " ", "\u3000", "—", "～", "·", "工会", "委员会", "学校工会", "注：", "以上", "备注", "0", "99",
    "13月", "十三月", "a", "Z", "😀", "\u200b", "\ufeff", "\x0c", "\x1e", "\u2028", "\r", "\u00a0",
    "é", "ß", "Ω", "ℵ", "\ud800", "\uffff", "🏫", "الله", "한국", "",
]


def _random_line(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return ""
    if roll < 0.08:
        return "".join(rng.choice(_POOL) for _ in range(rng.randrange(500, 3000)))
    if roll < 0.12:
        return "".join(chr(rng.randrange(1, 0x30000)) for _ in range(rng.randrange(1, 40)))
    return "".join(rng.choice(_POOL) for _ in range(rng.randrange(1, 8)))


@pytest.mark.parametrize("seed", range(30))
def test_random_text_never_crashes_and_loses_nothing(seed):
    rng = random.Random(seed)
    for _ in range(20):
        text = "\n".join(_random_line(rng) for _ in range(rng.randrange(0, 40)))
        parsed = parse_plan_text(text)
        assert_nothing_lost(text, parsed)
        json.dumps(parsed.to_dict(), ensure_ascii=False)
        for entry in parsed.items_with_categories() + parsed.activities_with_categories():
            assert entry["category"] in CATEGORY_LABELS
        for slot in parsed.schedule:
            assert slot.months and all(1 <= month <= 12 for month in slot.months)


@pytest.mark.parametrize("seed", range(10))
def test_shuffled_sample_lines_lose_nothing(seed):
    rng = random.Random(1000 + seed)
    lines = SAMPLE_002.read_text(encoding="utf-8").splitlines() + SAMPLE_004.read_text(
        encoding="utf-8"
    ).splitlines()
    rng.shuffle(lines)
    text = "\n".join(lines[: rng.randrange(1, len(lines))])
    assert_nothing_lost(text, parse_plan_text(text))


@pytest.mark.parametrize("seed", range(10))
def test_random_bytes_raise_only_plan_parse_error(seed):
    rng = random.Random(seed)
    for _ in range(20):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        name = rng.choice(["a.txt", "a.docx", "a.TXT", "a", "a.doc"])
        try:
            parsed = parse_plan_file(name, data)
        except PlanParseError:
            continue
        assert isinstance(parsed, ParsedPlan)


def test_edge_inputs():
    for text in ("", "\n\n", "   ", "一、", "二月", "活动安排", "1.", "、", "：", "一、二月：", "第一部分"):
        parsed = parse_plan_text(text)
        assert_nothing_lost(text, parsed)
    assert parse_plan_text(None).to_dict()["sections"] == []  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CLI


def test_cli_json(tmp_path):
    path = tmp_path / SAMPLE_004.name
    path.write_bytes(SAMPLE_004.read_bytes())
    result = CliRunner().invoke(parse_command, [str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == parse_plan_file(path.name, path.read_bytes()).to_dict()
    assert '"title": "工作内容"' in result.output  # ensure_ascii=False


def test_cli_summary(tmp_path):
    path = tmp_path / "plan.docx"
    path.write_bytes(_plan_docx())
    result = CliRunner().invoke(parse_command, [str(path)])
    assert result.exit_code == 0, result.output
    assert "指导思想：以人为本，依法维权。" in result.output
    assert "活动安排：3 个时段，5 项活动" in result.output
    assert "[民主管理/教代会] 召开教代会，审议学校发展规划。" in result.output


def test_cli_error(tmp_path):
    path = tmp_path / "plan.pdf"
    path.write_bytes(b"%PDF")
    result = CliRunner().invoke(parse_command, [str(path)])
    assert result.exit_code == 1
    assert "不支持的文件类型" in result.stderr
    assert result.stdout == ""
