"""Forms of the rubric editor. Numbers are text fields: the service parses them (full-width
digits, at most two decimals) and a refused value stays in the box as typed."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from app.rubrics.models import EVIDENCE_METHODS, INDICATOR_KINDS, PROVIDED_SOURCES


class RubricForm(FlaskForm):
    name = StringField("考核细则名称")
    total_points = StringField("总分", default="100")
    description = TextAreaField("简介")
    notes = TextAreaField("备注（如原表缺失、须补全之处）")


class CategoryForm(FlaskForm):
    name = StringField("类别名称")
    cap = StringField("类别分值")


def int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class IndicatorForm(FlaskForm):
    # Choices are checked by the service (Chinese messages), not by WTForms.
    category_id = SelectField("所属类别", coerce=int_or_none, validate_choice=False)
    code = StringField("序号")
    title = TextAreaField("考核内容")
    kind = SelectField("类型", choices=list(INDICATOR_KINDS.items()), default="points",
                       validate_choice=False)
    max_points = StringField("分值")
    guidance = TextAreaField("评分标准")
    evidence_method = SelectField("评分依据", choices=list(EVIDENCE_METHODS.items()), default="records",
                                  validate_choice=False)
    provided_source = SelectField("上级提供数据", choices=[("", "— 无 —")] + list(PROVIDED_SOURCES.items()),
                                  default="", validate_choice=False)
    must_pass = BooleanField("必备")
    veto = BooleanField("一票否决")
    deduction_per_unit = StringField("每次扣分")
    deduction_floor = StringField("最低分", default="0")
    bonus_max = StringField("加分上限")
    bands = TextAreaField("分档（每行一档：比率=得分，如 90=4）")


class ImportForm(FlaskForm):
    file = FileField("Excel 文件（.xlsx）", validators=[FileRequired("请选择要导入的 Excel 文件")])
    name = StringField("名称（留空则用表中「名称」一行）")
    family = SelectField("导入为", validate_choice=False, default="")


class TemplateForm(FlaskForm):
    template = SelectField("模板", validate_choice=False)
