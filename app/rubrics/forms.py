"""Forms of the rubric editor. Numbers are text fields: the service parses them (full-width
digits, at most two decimals) and a refused value stays in the box as typed."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from app.i18n import lazy_choices
from app.rubrics.models import EVIDENCE_METHODS, INDICATOR_KINDS, PROVIDED_SOURCES


class RubricForm(FlaskForm):
    name = StringField(_l("考核细则名称"))
    total_points = StringField(_l("总分"), default="100")
    description = TextAreaField(_l("简介"))
    notes = TextAreaField(_l("备注（如原表缺失、须补全之处）"))


class CategoryForm(FlaskForm):
    name = StringField(_l("类别名称"))
    cap = StringField(_l("类别分值"))


def int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class IndicatorForm(FlaskForm):
    # Choices are checked by the service (Chinese messages), not by WTForms.
    category_id = SelectField(_l("所属类别"), coerce=int_or_none, validate_choice=False)
    code = StringField(_l("序号"))
    title = TextAreaField(_l("考核内容"))
    kind = SelectField(_l("类型"), choices=lazy_choices(INDICATOR_KINDS), default="points",
                       validate_choice=False)
    max_points = StringField(_l("分值"))
    guidance = TextAreaField(_l("评分标准"))
    evidence_method = SelectField(_l("评分依据"), choices=lazy_choices(EVIDENCE_METHODS), default="records",
                                  validate_choice=False)
    provided_source = SelectField(_l("上级提供数据"), choices=[("", _l("— 无 —"))] + lazy_choices(PROVIDED_SOURCES),
                                  default="", validate_choice=False)
    must_pass = BooleanField(_l("必备"))
    veto = BooleanField(_l("一票否决"))
    deduction_per_unit = StringField(_l("每次扣分"))
    deduction_floor = StringField(_l("最低分"), default="0")
    bonus_max = StringField(_l("加分上限"))
    bands = TextAreaField(_l("分档（每行一档：比率=得分，如 90=4）"))


class ImportForm(FlaskForm):
    file = FileField(_l("Excel 文件（.xlsx）"), validators=[FileRequired(_l("请选择要导入的 Excel 文件"))])
    name = StringField(_l("名称（留空则用表中「名称」一行）"))
    family = SelectField(_l("导入为"), validate_choice=False, default="")


class TemplateForm(FlaskForm):
    template = SelectField(_l("模板"), validate_choice=False)
