from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from app.i18n import lazy_choices
from tenants.models import SCHOOL_KINDS
from tenants.roles import ALL_ROLES, ROLE_LABELS

PHONE = Regexp(r"^1\d{10}$", message=_l("请填写 11 位手机号码"))


class SchoolForm(FlaskForm):
    name = StringField(_l("学校名称"), validators=[DataRequired(_l("请填写学校名称")), Length(max=100)])
    kind = SelectField(_l("学校类型"), choices=lazy_choices(SCHOOL_KINDS))
    code = StringField(_l("学校代码"), validators=[Optional(), Length(max=40)])
    staff_count = IntegerField(_l("教职工数"), default=0, validators=[
        Optional(), NumberRange(min=0, max=100000, message=_l("请填写 0 到 100000 之间的整数"))])
    member_count = IntegerField(_l("会员数"), default=0, validators=[
        Optional(), NumberRange(min=0, max=100000, message=_l("请填写 0 到 100000 之间的整数"))])
    address = StringField(_l("地址"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("启用"), default=True)

    def validate_member_count(self, field):
        if field.data and self.staff_count.data is not None and field.data > self.staff_count.data:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("会员数不能多于教职工数"))


def role_choices():
    return [("", _l("— 请选择 —"))] + lazy_choices({r: ROLE_LABELS[r] for r in ALL_ROLES})


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名")), Length(max=64)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=64)])
    phone = StringField(_l("手机"), validators=[Optional(), PHONE])
    email = StringField(_l("邮箱"), validators=[Optional(), Email(_l("邮箱格式不正确")), Length(max=120)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请填写初始密码")),
                                                 Length(min=8, max=128, message=_l("密码长度应为 8 到 128 个字符"))])
    role = SelectField(_l("角色"), choices=role_choices(), validators=[DataRequired(_l("请选择角色"))])
    school_id = SelectField(_l("所属学校"), coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                            validate_choice=False)


class EditUserForm(FlaskForm):
    display_name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=64)])
    # shown masked (138****1234); sent back unchanged it keeps the stored number
    phone = StringField(_l("手机"), validators=[Optional(), Regexp(r"^1\d{10}$|^1\d\d\*{4}\d{4}$",
                                                                  message=_l("请填写 11 位手机号码"))])
    email = StringField(_l("邮箱"), validators=[Optional(), Email(_l("邮箱格式不正确")), Length(max=120)])
    password = PasswordField(_l("重置密码"), validators=[Optional(), Length(min=8, max=128,
                                                                  message=_l("密码长度应为 8 到 128 个字符"))])


class GrantForm(FlaskForm):
    role = SelectField(_l("角色"), choices=role_choices(), validators=[DataRequired(_l("请选择角色"))])
    school_id = SelectField(_l("所属学校"), coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                            validate_choice=False)


class ImportForm(FlaskForm):
    file = FileField(_l("Excel 文件（.xlsx）"), validators=[FileRequired(_l("请选择要导入的 Excel 文件"))])
