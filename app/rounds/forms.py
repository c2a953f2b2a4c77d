"""The round set-up form. Validation of the rules lives in services.validate_setup; the form
only parses the inputs (and shows the service's errors next to the fields)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from app.i18n import lazy_choices
from app.rounds.models import AGGREGATIONS, ROUND_KINDS
from app.rounds.services import GRADE_BANDS, TIE_BREAKS, tie_break_label
from app.titles.models import HOME_KINDS, TIERS


class LenientDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("日期格式不正确，请按 2026-03-08 的格式填写"))


class LenientIntegerField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("请填写整数"))


class LenientDecimalField(DecimalField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("请填写数字"))


def _tier_choices(blank: str):
    return [("", blank)] + lazy_choices(TIERS)


class RoundForm(FlaskForm):
    name = StringField(_l("轮次名称"))
    kind = SelectField(_l("轮次类型"), choices=[("", _l("— 请选择 —"))] + lazy_choices(ROUND_KINDS))
    year = LenientIntegerField(_l("年度"), validators=[Optional()])
    rubric_id = SelectField(_l("考核细则（已发布）"), validate_choice=False)
    home_kind = SelectField(_l("称号类别"), choices=lazy_choices(HOME_KINDS))
    target_tier = SelectField(_l("申报等级（建家评选）"), choices=_tier_choices(_l("— 不适用 —")))
    opens_on = LenientDateField(_l("申报开始日期"), validators=[Optional()])
    closes_on = LenientDateField(_l("申报截止日期"), validators=[Optional()])
    grace_days = LenientIntegerField(_l("宽限天数"), default=0, validators=[Optional()])
    assessment_due_on = LenientDateField(_l("评审截止日期"), validators=[Optional()])
    publicity_working_days = LenientIntegerField(_l("公示期（工作日）"), default=5, validators=[Optional()])
    requires_tier = SelectField(_l("申报条件：须已获得的称号"), choices=_tier_choices(_l("— 不限 —")))
    min_membership_rate = LenientDecimalField(_l("申报条件：入会率不低于（%）"), validators=[Optional()])
    min_plan_completion_rate = LenientDecimalField(_l("申报条件：年度计划完成率不低于（%）"), validators=[Optional()])
    requires_plan_approved = SelectField(_l("申报条件：年度计划须已通过审核"), choices=[("", _l("否")), ("1", _l("是"))])
    weight_self = LenientDecimalField(_l("自评权重（%）"), default=20, validators=[Optional()])
    weight_assessor = LenientDecimalField(_l("考评权重（%）"), default=80, validators=[Optional()])
    weight_peer = LenientDecimalField(_l("互评权重（%）"), default=0, validators=[Optional()])
    aggregation = SelectField(_l("评审分汇总方式"), choices=lazy_choices(AGGREGATIONS))
    panel_size = LenientIntegerField(_l("每份申报的评审人数"), validators=[Optional()])
    disagreement_threshold = LenientDecimalField(_l("分歧提示阈值（最高分与最低分之差）"), validators=[Optional()])
    quota_model = LenientIntegerField(_l("名额：模范"), validators=[Optional()])
    quota_advanced = LenientIntegerField(_l("名额：先进"), validators=[Optional()])
    quota_qualified = LenientIntegerField(_l("名额：合格"), validators=[Optional()])
    threshold_model = LenientDecimalField(_l("分数线：模范"), validators=[Optional()])
    threshold_advanced = LenientDecimalField(_l("分数线：先进"), validators=[Optional()])
    threshold_qualified = LenientDecimalField(_l("分数线：合格"), validators=[Optional()])
    quota_excellent = LenientIntegerField(_l("名额：优秀"), validators=[Optional()])
    quota_good = LenientIntegerField(_l("名额：良好"), validators=[Optional()])
    band_excellent = LenientDecimalField(_l("优秀分数线"), validators=[Optional()])
    band_good = LenientDecimalField(_l("良好分数线"), validators=[Optional()])
    band_pass = LenientDecimalField(_l("合格分数线"), validators=[Optional()])
    tie_break = TextAreaField(_l("同分排序规则（每行一项，依次比较）"))

    # The options are typed as shown (Chinese labels or category:名称), so only the framing is translated.
    TIE_BREAK_HELP = _l("可选：%(options)s；类别:类别名称（该类别得分高者优先）", options="；".join(TIE_BREAKS.values()))

    def to_setup(self) -> dict:
        """The form's values as the dict services.validate_setup takes."""
        def num(value):
            return None if value is None else value

        quotas = {}
        if self.kind.data == "title":
            quotas = {k: getattr(self, f"quota_{k}").data for k in ("model", "advanced", "qualified")}
        elif self.kind.data == "annual_review":
            quotas = {k: getattr(self, f"quota_{k}").data for k in ("excellent", "good")}
        thresholds = {}
        if self.kind.data in ("title", "re_review"):
            thresholds = {k: getattr(self, f"threshold_{k}").data for k in ("model", "advanced", "qualified")}
        bands = []
        if self.kind.data == "annual_review":
            bands = [[code, getattr(self, f"band_{code}").data] for code in GRADE_BANDS
                     if getattr(self, f"band_{code}").data is not None]
        eligibility = {}
        if self.kind.data == "title":
            eligibility = {"requires_tier": self.requires_tier.data or None,
                           "min_membership_rate": num(self.min_membership_rate.data),
                           "min_plan_completion_rate": num(self.min_plan_completion_rate.data),
                           "requires_plan_approved": True if self.requires_plan_approved.data == "1" else None}
        return {
            "name": self.name.data, "kind": self.kind.data, "year": self.year.data,
            "rubric_id": self.rubric_id.data or None, "home_kind": self.home_kind.data,
            "target_tier": self.target_tier.data or None, "opens_on": self.opens_on.data,
            "closes_on": self.closes_on.data, "grace_days": self.grace_days.data or 0,
            "assessment_due_on": self.assessment_due_on.data,
            "publicity_working_days": self.publicity_working_days.data,
            "eligibility": eligibility,
            "weights": {"self": num(self.weight_self.data) or 0, "assessor": num(self.weight_assessor.data) or 0,
                        "peer": num(self.weight_peer.data) or 0},
            "aggregation": self.aggregation.data, "panel_size": self.panel_size.data,
            "disagreement_threshold": self.disagreement_threshold.data,
            "quotas": quotas, "grade_bands": bands, "thresholds": thresholds,
            "tie_break": parse_tie_break(self.tie_break.data or ""),
        }

    def fill_from(self, round_) -> None:
        """Show a saved round in the form (GET)."""
        self.name.data, self.kind.data, self.year.data = round_.name, round_.kind, round_.year
        self.rubric_id.data = str(round_.rubric_id or "")
        self.home_kind.data, self.target_tier.data = round_.home_kind, round_.target_tier or ""
        self.opens_on.data, self.closes_on.data = round_.opens_on, round_.closes_on
        self.grace_days.data, self.assessment_due_on.data = round_.grace_days, round_.assessment_due_on
        self.publicity_working_days.data = round_.publicity_working_days
        rules = round_.eligibility or {}
        self.requires_tier.data = rules.get("requires_tier") or ""
        self.min_membership_rate.data = rules.get("min_membership_rate")
        self.min_plan_completion_rate.data = rules.get("min_plan_completion_rate")
        self.requires_plan_approved.data = "1" if rules.get("requires_plan_approved") else ""
        weights = round_.weights or {}
        self.weight_self.data = weights.get("self")
        self.weight_assessor.data = weights.get("assessor")
        self.weight_peer.data = weights.get("peer")
        self.aggregation.data, self.panel_size.data = round_.aggregation, round_.panel_size
        self.disagreement_threshold.data = round_.disagreement_threshold
        for key, value in (round_.quotas or {}).items():
            if hasattr(self, f"quota_{key}"):
                getattr(self, f"quota_{key}").data = value
        for key, value in (round_.thresholds or {}).items():
            if hasattr(self, f"threshold_{key}"):
                getattr(self, f"threshold_{key}").data = value
        for code, minimum in round_.grade_bands or []:
            if hasattr(self, f"band_{code}"):
                getattr(self, f"band_{code}").data = minimum
        self.tie_break.data = "\n".join(tie_break_label(c) if not c.startswith("category:") else
                                        "类别:" + c[len("category:"):] for c in round_.tie_break or [])


def parse_tie_break(text: str) -> list[str]:
    """One criterion per line, as a code or its Chinese label; "类别:组织建设" for a category."""
    by_label = {label: code for code, label in TIE_BREAKS.items()}
    out = []
    for line in text.replace("\r", "").split("\n"):
        line = line.strip()
        if not line:
            continue
        for prefix in ("类别:", "类别：", "category:"):
            if line.startswith(prefix):
                line = "category:" + line[len(prefix):].strip()
                break
        out.append(by_label.get(line, line))
    return out
