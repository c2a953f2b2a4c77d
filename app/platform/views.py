from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.access import requires
from app.extensions import db
from app.platform import services
from tenants.models import District, School
from tenants.scope import system_scope

bp = Blueprint("platform", __name__, url_prefix="/platform", template_folder="templates")


class DistrictForm(FlaskForm):
    slug = StringField(_l("区县代码（用于网址）"), validators=[DataRequired(_l("请填写区县代码")), Length(max=40)])
    name = StringField(_l("区县教育工会名称"), validators=[DataRequired(_l("请填写名称")), Length(max=100)])
    region = StringField(_l("所在地区"), validators=[Optional(), Length(max=100)])
    admin_username = StringField(_l("首位管理员用户名"), validators=[DataRequired(_l("请填写用户名")), Length(max=64)])
    admin_name = StringField(_l("首位管理员姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=64)])
    admin_password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请填写初始密码")),
                                                       Length(min=8, max=128, message=_l("密码长度应为 8 到 128 个字符"))])


@bp.route("/")
@requires("platform.manage")
def districts():
    with system_scope("platform admin: list every district with its school count"):
        counts = dict(db.session.execute(select(School.district_id, func.count()).group_by(School.district_id)).all())
        rows = db.session.scalars(select(District).order_by(District.name)).all()
    return render_template("platform/districts.html", districts=rows, counts=counts)


@bp.route("/districts/new", methods=["GET", "POST"])
@requires("platform.manage")
def new_district():
    form = DistrictForm()
    if form.validate_on_submit():
        try:
            district, admin = services.create_district_with_admin(
                form.slug.data, form.name.data, form.region.data, form.admin_username.data,
                form.admin_name.data, form.admin_password.data)
            db.session.commit()
        except services.PlatformError as exc:
            db.session.rollback()
            getattr(form, exc.field or "slug").errors.append(str(exc))
        else:
            flash(_("已创建 %(district)s，管理员 %(username)s 首次登录须修改密码", district=district.name,
                    username=admin.username), "success")
            return redirect(url_for("platform.districts"))
    return render_template("platform/district_form.html", form=form)
