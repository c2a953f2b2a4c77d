"""Title forms: they only parse; the rules live in app/titles/services.py, whose errors are
shown next to the fields."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import Optional

from app.titles.models import HOME_KINDS, LEVELS, TIERS
from app.titles.services import OUTCOMES


class LenientDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("日期格式不正确，请按 2026-03-08 的格式填写"))


def _choices(labels: dict, blank=None):
    choices = [(code, _l(label)) for code, label in labels.items()]
    return ([("", blank)] if blank is not None else []) + choices


class TitleForm(FlaskForm):
    school_id = SelectField(_l("学校"), validate_choice=False)
    home_kind = SelectField(_l("类别"), choices=_choices(HOME_KINDS))
    level = SelectField(_l("级别"), choices=_choices(LEVELS))
    tier = SelectField(_l("等级"), choices=_choices(TIERS, _l("— 请选择 —")))
    awarded_on = LenientDateField(_l("授予日期"), validators=[Optional()])
    review_due_on = LenientDateField(_l("复查到期日（留空按本区复查周期计算）"), validators=[Optional()])
    note = TextAreaField(_l("备注（文号、授予单位等）"), validators=[Optional()])
    reason = TextAreaField(_l("修改理由"), validators=[Optional()])

    def to_data(self) -> dict:
        return {"school_id": self.school_id.data, "home_kind": self.home_kind.data, "level": self.level.data,
                "tier": self.tier.data, "awarded_on": self.awarded_on.data,
                "review_due_on": self.review_due_on.data, "note": self.note.data or ""}


class OutcomeForm(FlaskForm):
    outcome = SelectField(_l("结论"), choices=_choices(OUTCOMES, _l("— 请选择 —")))
    reason = TextAreaField(_l("理由 / 整改要求"), validators=[Optional()])
    deadline = LenientDateField(_l("整改期限（限期整改）"), validators=[Optional()])


class CycleForm(FlaskForm):
    review_cycle_years = IntegerField(_l("复查周期（年）"), validators=[Optional()])
