"""A rubric as one Excel sheet, the way districts already keep their 考核细则.

Layout: a few "key | value" rows (名称, 总分, 简介, 备注), then a header row with the columns
below, then one row per indicator. 类别 and 类别分值 may be left blank (or merged) on the rows
after a category's first row. A row with only 类别 and 类别分值 is a category without
indicators.

Import checks every row first: any error creates nothing and is listed by row and column.
Export escapes text that a spreadsheet would run as a formula (= + - @).
"""
from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from app.rubrics import services
from app.rubrics.models import BONUS, EVIDENCE_METHODS, INDICATOR_KINDS, PROVIDED_SOURCES, RATE_BAND, Rubric
from app.spreadsheets import FORMULA_PREFIXES, ImportRejected, RowError, safe_cell  # noqa: F401 (re-exported)
from app.uploads import UploadError, check_office_zip

SHEET = "考核细则"
COLUMNS = ["类别", "类别分值", "序号", "考核内容", "分值", "类型", "评分标准", "评分依据", "必备", "一票否决",
           "每次扣分", "最低分", "加分上限", "分档", "上级提供数据"]
REQUIRED_COLUMNS = ("类别", "类别分值", "考核内容", "分值")
META = {"名称": "name", "考核细则名称": "name", "总分": "total_points", "简介": "description", "说明": "description",
        "备注": "notes"}
META_LABELS = {"name": "名称", "total_points": "总分", "description": "简介", "notes": "备注"}
# indicator field -> column (for errors)
COLUMN_OF = {"code": "序号", "title": "考核内容", "max_points": "分值", "kind": "类型", "guidance": "评分标准",
             "evidence_method": "评分依据", "must_pass": "必备", "veto": "一票否决", "deduction_per_unit": "每次扣分",
             "deduction_floor": "最低分", "bonus_max": "加分上限", "bands": "分档", "provided_source": "上级提供数据"}
HEADER_SCAN_ROWS = 30

KIND_BY_LABEL = {label: code for code, label in INDICATOR_KINDS.items()}
KIND_BY_LABEL.update({"直接评分": "points", "评分": "points", "扣分": "deduction", "加分": "bonus",
                      "分档": "rate_band", "按比率": "rate_band"})
METHOD_BY_LABEL = {label: code for code, label in EVIDENCE_METHODS.items()}
METHOD_BY_LABEL.update({"查资料": "records", "查阅资料": "records", "查阅台账": "records", "台账": "records",
                        "实地考察": "site_visit", "问卷调查": "survey", "测评": "survey",
                        "局工会提供": "provided", "区工会提供": "provided"})
SOURCE_BY_LABEL = {label: code for code, label in PROVIDED_SOURCES.items()}





@dataclass
class ImportResult:
    document: dict | None = None
    errors: list[RowError] = field(default_factory=list)

    def error(self, row, column, message):
        self.errors.append(RowError(SHEET, row, column, message))

    def errors_as_dicts(self, limit: int = 500) -> list[dict]:
        return [asdict(e) for e in self.errors[:limit]]


# --- export ------------------------------------------------------------------------------


def _number(value):
    if value is None:
        return None
    return services._plain(Decimal(value))


def export_workbook(rubric: Rubric) -> bytes:
    doc = services.document(rubric)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    meta = [("名称", doc["name"]), ("总分", _number(doc["total_points"])), ("简介", doc["description"]),
            ("备注", doc["notes"])]
    for label, value in meta:
        ws.append([label, safe_cell(value)])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    ws.append([])
    ws.append(COLUMNS)
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
    for category in doc["categories"]:
        cap = _number(category["cap"])
        if not category["indicators"]:
            ws.append([safe_cell(category["name"]), cap])
        for ind in category["indicators"]:
            ws.append([
                safe_cell(category["name"]), cap, safe_cell(ind["code"]), safe_cell(ind["title"]),
                None if ind["kind"] == BONUS else _number(ind["max_points"]), INDICATOR_KINDS[ind["kind"]],
                safe_cell(ind["guidance"]),
                EVIDENCE_METHODS.get(ind["evidence_method"], ind["evidence_method"]),
                "是" if ind["must_pass"] else "", "是" if ind["veto"] else "",
                _number(ind["deduction_per_unit"]), _number(ind["deduction_floor"]), _number(ind["bonus_max"]),
                services.bands_text(ind["bands"]) if ind["kind"] == RATE_BAND else "",
                PROVIDED_SOURCES.get(ind["provided_source"], "") if ind["provided_source"] else "",
            ])
    for row in ws.iter_rows(min_row=1):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGHIJKLMNO", (14, 9, 6, 44, 7, 11, 40, 11, 6, 8, 8, 7, 8, 10, 18)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def download_name(rubric: Rubric) -> str:
    name = "".join(ch for ch in rubric.name if ch not in '\\/:*?"<>|').strip() or "考核细则"
    return f"{name}（第{rubric.version}版）.xlsx"


# --- import ------------------------------------------------------------------------------

def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in FORMULA_PREFIXES and text[1:2]:
        text = text[1:]  # our own formula escape, undone
    return text


def read(data: bytes, max_bytes: int, max_rows: int) -> tuple[dict, list[tuple[int, dict]]]:
    """(meta: field -> (row, text), rows: [(row number, {column: text})]); raises ImportRejected."""
    if not data:
        raise ImportRejected("文件是空的")
    if len(data) > max_bytes:
        raise ImportRejected(f"文件太大（{len(data) // 1024} KB），不能超过 {max_bytes // 1024 // 1024} MB")
    try:
        check_office_zip(data, ("[Content_Types].xml", "xl/workbook.xml"), "Excel (.xlsx)")
    except UploadError as exc:
        raise ImportRejected(str(exc))
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any parser failure is a bad file for the user
        raise ImportRejected("无法读取该 Excel 文件，请确认文件未损坏")
    try:
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        return _read_sheet(ws, max_rows)
    finally:
        wb.close()


def _read_sheet(ws, max_rows):
    meta: dict[str, tuple[int, str]] = {}
    index = None
    rows = []
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        values = values or ()
        texts = [_cell_text(v) for v in values]
        if index is None:
            header = [t.rstrip("*＊").strip() for t in texts]
            if "考核内容" in header and "分值" in header:
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise ImportRejected(f"表头缺少列：{'、'.join(missing)}（请先导出一份作为模板）")
                index = {c: header.index(c) for c in COLUMNS if c in header}
                continue
            if number > HEADER_SCAN_ROWS:
                break
            if texts and texts[0].rstrip("：:") in META:
                key = META[texts[0].rstrip("：:")]
                meta.setdefault(key, (number, texts[1] if len(texts) > 1 else ""))
            continue
        if not any(texts):
            continue
        if len(rows) >= max_rows:
            raise ImportRejected(f"行数过多，一次最多导入 {max_rows} 行")
        rows.append((number, {c: (texts[i] if i < len(texts) else "") for c, i in index.items()}))
    if index is None:
        raise ImportRejected(f"找不到表头（须包含「考核内容」和「分值」两列，并在前 {HEADER_SCAN_ROWS} 行内）")
    if not rows:
        raise ImportRejected("文件中没有可导入的数据行")
    return meta, rows


def _lookup(result, number, column, text, table, default):
    """A label (or code) from a cell; an unknown one is an error at that row and column."""
    if not text:
        return default
    if text in table.values():
        return text
    if text in table:
        return table[text]
    result.error(number, column, f"「{text}」无效，可选：{'、'.join(OFFICIAL_LABELS[column])}")
    return None


OFFICIAL_LABELS = {"类型": list(INDICATOR_KINDS.values()), "评分依据": list(EVIDENCE_METHODS.values()),
                   "上级提供数据": list(PROVIDED_SOURCES.values())}


def check(meta: dict, rows: list[tuple[int, dict]], *, name: str = "", fallback_name: str = "") -> ImportResult:
    """Every rule, every row. ``name`` (from the form) overrides the sheet's 名称."""
    result = ImportResult()
    header_raw = {key: text for key, (_, text) in meta.items()}
    if name:
        header_raw["name"] = name
    header_raw.setdefault("name", "")
    if not header_raw["name"]:
        header_raw["name"] = fallback_name
    categories: list[dict] = []
    by_name: dict[str, tuple[dict, int]] = {}
    current = None
    for number, r in rows:
        cat_name, cap_text = r.get("类别", ""), r.get("类别分值", "")
        if cat_name:
            if cat_name in by_name:
                current, first_row = by_name[cat_name]
                if cap_text:
                    try:
                        cap = services.parse_decimal(cap_text, required=True, positive=True)
                    except ValueError as exc:
                        result.error(number, "类别分值", str(exc))
                    else:
                        if current["cap"] is not None and cap != current["cap"]:
                            result.error(number, "类别分值",
                                         f"与第 {first_row} 行类别「{cat_name}」的分值 {current['cap']} 不一致")
            else:
                clean, errors = services.clean_category({"name": cat_name, "cap": cap_text})
                for key, message in errors.items():
                    result.error(number, "类别" if key == "name" else "类别分值", message)
                current = dict(clean, indicators=[])
                by_name[cat_name] = (current, number)
                categories.append(current)
        elif current is None:
            result.error(number, "类别", "第一行数据须填写类别")
            continue
        elif cap_text:
            try:
                cap = services.parse_decimal(cap_text, required=True, positive=True)
            except ValueError as exc:
                result.error(number, "类别分值", str(exc))
            else:
                if current["cap"] is not None and cap != current["cap"]:
                    result.error(number, "类别分值", f"与类别「{current['name']}」的分值 {current['cap']} 不一致")
        indicator_cells = [r.get(c, "") for c in COLUMNS[2:]]
        if not any(indicator_cells):
            continue  # a category row without an indicator
        raw = {"code": r.get("序号", ""), "title": r.get("考核内容", ""), "max_points": r.get("分值", ""),
               "guidance": r.get("评分标准", ""), "must_pass": r.get("必备", ""), "veto": r.get("一票否决", ""),
               "deduction_per_unit": r.get("每次扣分", ""), "deduction_floor": r.get("最低分", ""),
               "bonus_max": r.get("加分上限", ""), "bands": r.get("分档", "")}
        kind = _lookup(result, number, "类型", r.get("类型", ""), KIND_BY_LABEL, "points")
        method = _lookup(result, number, "评分依据", r.get("评分依据", ""), METHOD_BY_LABEL, "records")
        source = _lookup(result, number, "上级提供数据", r.get("上级提供数据", ""), SOURCE_BY_LABEL, None)
        raw.update(kind=kind or "points", evidence_method=method or "records", provided_source=source)
        clean, errors = services.clean_indicator(raw)
        for key, message in errors.items():
            result.error(number, COLUMN_OF[key], message)
        current["indicators"].append(clean)
    if len(categories) > services.MAX_CATEGORIES:
        result.error(rows[0][0], "类别", f"最多 {services.MAX_CATEGORIES} 个类别")
    if sum(len(c["indicators"]) for c in categories) > services.MAX_INDICATORS:
        result.error(rows[0][0], "考核内容", f"最多 {services.MAX_INDICATORS} 个指标")
    if "total_points" not in header_raw or header_raw["total_points"] == "":
        # No 总分 row: the sum of the category caps is the declared total.
        header_raw["total_points"] = sum((c["cap"] for c in categories if c["cap"] is not None), Decimal(0)) or ""
    header, errors = services.clean_header(header_raw)
    for key, message in errors.items():
        row_no = meta[key][0] if key in meta and not (key == "name" and name) else 1
        result.error(row_no, META_LABELS[key], message)
    order = {c: i for i, c in enumerate(COLUMNS)}
    result.errors.sort(key=lambda e: (e.row, order.get(e.column, -1)))
    if not result.errors:
        header["categories"] = categories
        result.document = header
    return result


def name_from_filename(filename: str) -> str:
    stem = os.path.splitext(os.path.basename(filename or ""))[0].strip()
    return stem[:200]
