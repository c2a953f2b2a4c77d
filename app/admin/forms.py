from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from tenants.models import SCHOOL_KINDS
from tenants.roles import ALL_ROLES, ROLE_LABELS

PHONE = Regexp(r"^1\d{10}$", message="请填写 11 位手机号码")


class SchoolForm(FlaskForm):
    name = StringField("学校名称", validators=[DataRequired("请填写学校名称"), Length(max=100)])
    kind = SelectField("学校类型", choices=list(SCHOOL_KINDS.items()))
    code = StringField("学校代码", validators=[Optional(), Length(max=40)])
    staff_count = IntegerField("教职工数", default=0, validators=[
        Optional(), NumberRange(min=0, max=100000, message="请填写 0 到 100000 之间的整数")])
    member_count = IntegerField("会员数", default=0, validators=[
        Optional(), NumberRange(min=0, max=100000, message="请填写 0 到 100000 之间的整数")])
    address = StringField("地址", validators=[Optional(), Length(max=200)])
    active = BooleanField("启用", default=True)

    def validate_member_count(self, field):
        if field.data and self.staff_count.data is not None and field.data > self.staff_count.data:
            from wtforms.validators import ValidationError

            raise ValidationError("会员数不能多于教职工数")


def role_choices():
    return [("", "— 请选择 —")] + [(r, ROLE_LABELS[r]) for r in ALL_ROLES]


class UserForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=64)])
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=64)])
    phone = StringField("手机", validators=[Optional(), PHONE])
    email = StringField("邮箱", validators=[Optional(), Email("邮箱格式不正确"), Length(max=120)])
    password = PasswordField("初始密码", validators=[DataRequired("请填写初始密码"),
                                                 Length(min=8, max=128, message="密码长度应为 8 到 128 个字符")])
    role = SelectField("角色", choices=role_choices(), validators=[DataRequired("请选择角色")])
    school_id = SelectField("所属学校", coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                            validate_choice=False)


class EditUserForm(FlaskForm):
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=64)])
    phone = StringField("手机", validators=[Optional(), PHONE])
    email = StringField("邮箱", validators=[Optional(), Email("邮箱格式不正确"), Length(max=120)])
    password = PasswordField("重置密码", validators=[Optional(), Length(min=8, max=128,
                                                                  message="密码长度应为 8 到 128 个字符")])


class GrantForm(FlaskForm):
    role = SelectField("角色", choices=role_choices(), validators=[DataRequired("请选择角色")])
    school_id = SelectField("所属学校", coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                            validate_choice=False)


class ImportForm(FlaskForm):
    file = FileField("Excel 文件（.xlsx）", validators=[FileRequired("请选择要导入的 Excel 文件")])
