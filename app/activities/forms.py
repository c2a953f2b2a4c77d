from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from app.i18n import lazy_choices
from app.plans.models import CATEGORIES


class ChineseDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("日期格式不正确，请按 2026-03-08 的格式填写"))


class ChineseIntegerField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("请填写整数"))


def _date_required(form, field):
    """Required, without hiding the "not a date" message of unparsable input."""
    if field.data is None:
        if field.raw_data and field.raw_data[0].strip():
            raise StopValidation()  # the parse error is already on the field
        raise StopValidation(_l("请填写活动日期（如 2026-03-08）"))


def _participants(form, field):
    if field.data is not None and not 0 <= field.data <= 100000:
        raise ValidationError(_l("参与人数应为 0 到 100000 之间的整数"))


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ActivityForm(FlaskForm):
    held_on = ChineseDateField(_l("活动日期"), validators=[_date_required])
    title = StringField(_l("活动名称"), validators=[DataRequired(_l("请填写活动名称")),
                                            Length(max=200, message=_l("活动名称不能超过 200 个字"))])
    category = SelectField(_l("活动类别"), choices=[("", _l("— 请选择 —"))] + lazy_choices(CATEGORIES),
                           validators=[DataRequired(_l("请选择活动类别"))])
    participants = ChineseIntegerField(_l("参与人数"), default=0, validators=[Optional(), _participants])
    description = TextAreaField(_l("活动内容"), validators=[Optional(), Length(max=10000, message=_l("活动内容不能超过 10000 个字"))])
    scheduled_activity_id = SelectField(_l("对应的计划活动"), coerce=_int_or_none, validate_choice=False)
    files = MultipleFileField(_l("照片或附件"))


class FilesForm(FlaskForm):
    files = MultipleFileField(_l("照片或附件"))
