from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码")), Length(max=128)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请填写当前密码"))])
    new = PasswordField(_l("新密码"), validators=[DataRequired(_l("请填写新密码")), Length(min=8, max=128,
                                                                       message=_l("密码长度应为 8 到 128 个字符"))])
    confirm = PasswordField(_l("确认新密码"), validators=[DataRequired(_l("请再次填写新密码")),
                                                 EqualTo("new", message=_l("两次填写的新密码不一致"))])


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), validators=[DataRequired(_l("请填写令牌名称")), Length(max=64)])
