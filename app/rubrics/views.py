"""The rubric editor (/d/<district>/rubrics…): list, table with computed sums, forms for
categories and indicators, copy/publish, Excel export and import, templates. Thin: parse,
call a service, render."""
from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from app.access import allowed, requires
from app.audit.services import record
from app.extensions import db
from app.rubrics import excel, services, template_library
from app.rubrics.forms import CategoryForm, ImportForm, IndicatorForm, RubricForm, TemplateForm
from app.rubrics.models import EVIDENCE_METHODS, INDICATOR_KINDS, PROVIDED_SOURCES, RATE_BAND

bp = Blueprint("rubrics", __name__, url_prefix="/d/<district>/rubrics", template_folder="templates")

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_template_filter("pts")
def points_filter(value) -> str:
    """Points without trailing zeros: 4, 0.5, 12.25."""
    if value is None or value == "":
        return ""
    return str(services._plain(value))


def _rubric_or_404(rubric_id: int):
    rubric = services.get_rubric(rubric_id)
    if rubric is None:
        abort(404)
    return rubric


def _category_or_404(rubric, category_id: int):
    category = services.get_category(rubric, category_id)
    if category is None:
        abort(404)
    return category


def _indicator_or_404(rubric, indicator_id: int):
    indicator = services.get_indicator(rubric, indicator_id)
    if indicator is None:
        abort(404)
    return indicator


def _not_editable(rubric):
    """A redirect to the rubric with the reason when it may not be changed, else None."""
    try:
        services.ensure_editable(rubric)
    except services.RubricError as exc:
        flash(str(exc), "error")
        return redirect(url_for("rubrics.show", rubric_id=rubric.id))
    return None


def _attach(form, errors: dict, fallback: str) -> None:
    for key, message in errors.items():
        getattr(form, key if hasattr(form, key) else fallback).errors.append(message)


def _template_choices():
    return [("", _("— 请选择模板 —"))] + [(t.key, t.label) for t in template_library.all_templates()]


# --- list, new, templates, import --------------------------------------------------------

@bp.route("/")
@requires("rubrics.view")
def index():
    q = (request.args.get("q") or "").strip()[:50]
    template_form = TemplateForm()
    template_form.template.choices = _template_choices()
    return render_template("rubrics/index.html", views=services.list_views(q), q=q, template_form=template_form,
                           templates=template_library.all_templates(), labels=services.RUBRIC_STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@requires("rubrics.manage")
def new():
    form = RubricForm()
    if form.validate_on_submit():
        clean, errors = services.clean_header(form.data)
        if not errors:
            rubric = services.create_empty(clean)
            db.session.commit()
            flash(_("已新建考核细则「%(name)s」（草稿），请添加类别和指标", name=rubric.name), "success")
            return redirect(url_for("rubrics.show", rubric_id=rubric.id))
        _attach(form, errors, "name")
    return render_template("rubrics/rubric_form.html", form=form, rubric=None)


@bp.route("/from-template", methods=["POST"])
@requires("rubrics.manage")
def from_template():
    form = TemplateForm()
    form.template.choices = _template_choices()
    template = template_library.get(form.template.data or "") if form.validate_on_submit() else None
    if template is None:
        flash(_("请选择一个模板"), "error")
        return redirect(url_for("rubrics.index"))
    rubric = template_library.create_from(template)
    db.session.commit()
    flash(_("已从模板新建「%(name)s」（草稿）。请先阅读备注中须补全的内容。", name=rubric.name), "success")
    return redirect(url_for("rubrics.show", rubric_id=rubric.id))


@bp.route("/import", methods=["GET", "POST"])
@requires("rubrics.manage")
def import_excel():
    form = ImportForm()
    families = services.families()
    form.family.choices = [("", _("新的考核细则"))] + [
        (r.family, _("「%(name)s」的新版本（第 %(v)s 版）", name=r.name, v=services.next_version(r.family)))
        for r in families]
    if not form.validate_on_submit():
        return render_template("rubrics/import.html", form=form)
    cfg = current_app.config
    upload = form.file.data
    data = upload.read(cfg["IMPORT_MAX_BYTES"] + 1)
    family = form.family.data or None
    if family is not None and family not in {r.family for r in families}:
        form.family.errors.append(_("请选择要导入为哪一个考核细则的新版本"))
        return render_template("rubrics/import.html", form=form), 400
    try:
        meta, rows = excel.read(data, cfg["IMPORT_MAX_BYTES"], cfg["IMPORT_MAX_ROWS"])
    except excel.ImportRejected as exc:
        record("import_rejected", details={"area": "rubrics", "reason": str(exc)}, commit=True)
        form.file.errors.append(str(exc))
        return render_template("rubrics/import.html", form=form), 400
    result = excel.check(meta, rows, name=(form.name.data or "").strip(),
                         fallback_name=excel.name_from_filename(upload.filename))
    if result.errors:
        return render_template("rubrics/import.html", form=form, errors=result.errors_as_dicts(),
                               error_count=len(result.errors)), 400
    rubric = services.create_rubric(result.document, family=family, audit_action="rubric_imported",
                                    audit_details={"filename": (upload.filename or "")[:200]})
    db.session.commit()
    flash(_("已导入「%(name)s」第 %(v)s 版（草稿）", name=rubric.name, v=rubric.version), "success")
    return redirect(url_for("rubrics.show", rubric_id=rubric.id))


# --- one version ---------------------------------------------------------------------------

@bp.route("/<int:rubric_id>")
@requires("rubrics.view")
def show(rubric_id: int):
    rubric = _rubric_or_404(rubric_id)
    return render_template("rubrics/show.html", v=services.view(rubric), kinds=INDICATOR_KINDS,
                           methods=EVIDENCE_METHODS, sources=PROVIDED_SOURCES, can_manage=allowed("rubrics.manage"),
                           round_label=services.round_label)


@bp.route("/<int:rubric_id>/edit", methods=["GET", "POST"])
@requires("rubrics.manage")
def edit(rubric_id: int):
    rubric = _rubric_or_404(rubric_id)
    refused = _not_editable(rubric)
    if refused:
        return refused
    form = RubricForm(obj=rubric if request.method == "GET" else None)
    if form.validate_on_submit():
        clean, errors = services.clean_header(form.data)
        if not errors:
            services.update_header(rubric, clean)
            db.session.commit()
            flash(_("已保存"), "success")
            return redirect(url_for("rubrics.show", rubric_id=rubric.id))
        _attach(form, errors, "name")
    elif request.method == "GET":
        form.total_points.data = services._plain(rubric.total_points)
    return render_template("rubrics/rubric_form.html", form=form, rubric=rubric)


@bp.route("/<int:rubric_id>/export.xlsx")
@requires("rubrics.view")
def export(rubric_id: int):
    rubric = _rubric_or_404(rubric_id)
    return send_file(io.BytesIO(excel.export_workbook(rubric)), as_attachment=True,
                     download_name=excel.download_name(rubric), mimetype=XLSX_MIME)


@bp.route("/<int:rubric_id>/copy", methods=["POST"])
@requires("rubrics.manage")
def copy(rubric_id: int):
    rubric = _rubric_or_404(rubric_id)
    new_version = services.copy_rubric(rubric)
    db.session.commit()
    flash(_("已复制为第 %(v)s 版（草稿），可以修改", v=new_version.version), "success")
    return redirect(url_for("rubrics.show", rubric_id=new_version.id))


@bp.route("/<int:rubric_id>/publish", methods=["POST"])
@requires("rubrics.manage")
def publish(rubric_id: int):
    rubric = _rubric_or_404(rubric_id)
    try:
        services.publish(rubric)
        db.session.commit()
    except services.RubricError as exc:
        db.session.rollback()
        flash(_("不能发布：%(problems)s", problems=_("；").join(exc.problems)) if exc.problems else str(exc), "error")
    else:
        flash(_("已发布第 %(v)s 版；发布后不能再修改，如需调整请复制为新版本", v=rubric.version), "success")
    return redirect(url_for("rubrics.show", rubric_id=rubric_id))


@bp.route("/<int:rubric_id>/delete", methods=["POST"])
@requires("rubrics.manage")
def delete(rubric_id: int):
    rubric = _rubric_or_404(rubric_id)
    name, version = rubric.name, rubric.version
    try:
        services.delete_rubric(rubric)
        db.session.commit()
    except services.RubricError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("rubrics.show", rubric_id=rubric_id))
    flash(_("已删除「%(name)s」第 %(v)s 版", name=name, v=version), "success")
    return redirect(url_for("rubrics.index"))


# --- categories ----------------------------------------------------------------------------

@bp.route("/<int:rubric_id>/categories/new", methods=["GET", "POST"])
@requires("rubrics.manage")
def new_category(rubric_id: int):
    rubric = _rubric_or_404(rubric_id)
    refused = _not_editable(rubric)
    if refused:
        return refused
    form = CategoryForm()
    if form.validate_on_submit():
        clean, errors = services.clean_category(form.data)
        if not errors:
            try:
                services.add_category(rubric, clean)
                db.session.commit()
            except services.RubricError as exc:
                db.session.rollback()
                errors = {exc.field or "name": str(exc)}
            else:
                flash(_("已添加类别「%(name)s」", name=clean["name"]), "success")
                return redirect(url_for("rubrics.show", rubric_id=rubric.id))
        _attach(form, errors, "name")
    return render_template("rubrics/category_form.html", form=form, rubric=rubric, category=None)


@bp.route("/<int:rubric_id>/categories/<int:category_id>/edit", methods=["GET", "POST"])
@requires("rubrics.manage")
def edit_category(rubric_id: int, category_id: int):
    rubric = _rubric_or_404(rubric_id)
    category = _category_or_404(rubric, category_id)
    refused = _not_editable(rubric)
    if refused:
        return refused
    form = CategoryForm(obj=category if request.method == "GET" else None)
    if form.validate_on_submit():
        clean, errors = services.clean_category(form.data)
        if not errors:
            try:
                services.update_category(rubric, category, clean)
                db.session.commit()
            except services.RubricError as exc:
                db.session.rollback()
                errors = {exc.field or "name": str(exc)}
            else:
                flash(_("类别已保存"), "success")
                return redirect(url_for("rubrics.show", rubric_id=rubric.id))
        _attach(form, errors, "name")
    elif request.method == "GET":
        form.cap.data = services._plain(category.cap)
    return render_template("rubrics/category_form.html", form=form, rubric=rubric, category=category)


@bp.route("/<int:rubric_id>/categories/<int:category_id>/delete", methods=["POST"])
@requires("rubrics.manage")
def delete_category(rubric_id: int, category_id: int):
    rubric = _rubric_or_404(rubric_id)
    category = _category_or_404(rubric, category_id)
    try:
        services.delete_category(rubric, category)
        db.session.commit()
        flash(_("已删除类别及其指标"), "success")
    except services.RubricError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("rubrics.show", rubric_id=rubric.id))


@bp.route("/<int:rubric_id>/categories/<int:category_id>/move", methods=["POST"])
@requires("rubrics.manage")
def move_category(rubric_id: int, category_id: int):
    rubric = _rubric_or_404(rubric_id)
    category = _category_or_404(rubric, category_id)
    try:
        services.move_category(rubric, category, request.form.get("direction", ""))
        db.session.commit()
    except services.RubricError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("rubrics.show", rubric_id=rubric.id, _anchor=f"category-{category_id}"))


# --- indicators ----------------------------------------------------------------------------

def _indicator_form(rubric, indicator=None, category=None) -> IndicatorForm:
    form = IndicatorForm(obj=indicator if request.method == "GET" else None)
    categories = services.categories_of(rubric)
    form.category_id.choices = [(c.id, c.name) for c in categories]
    if request.method == "GET":
        if indicator is not None:
            for key in ("max_points", "deduction_per_unit", "deduction_floor", "bonus_max"):
                getattr(form, key).data = services._plain(getattr(indicator, key))
            form.bands.data = services.bands_text(indicator.bands)
            form.provided_source.data = indicator.provided_source or ""
        elif category is not None:
            form.category_id.data = category.id
    return form


def _indicator_page(form, rubric, category, indicator, status=200):
    return render_template("rubrics/indicator_form.html", form=form, rubric=rubric, category=category,
                           indicator=indicator, rate_band=RATE_BAND), status


@bp.route("/<int:rubric_id>/categories/<int:category_id>/indicators/new", methods=["GET", "POST"])
@requires("rubrics.manage")
def new_indicator(rubric_id: int, category_id: int):
    rubric = _rubric_or_404(rubric_id)
    category = _category_or_404(rubric, category_id)
    refused = _not_editable(rubric)
    if refused:
        return refused
    form = _indicator_form(rubric, category=category)
    if form.validate_on_submit():
        clean, errors = services.clean_indicator(form.data)
        target = services.get_category(rubric, form.category_id.data or 0)
        if target is None:
            errors["category_id"] = _("请选择所属类别")
        if not errors:
            try:
                services.add_indicator(rubric, target, clean)
                db.session.commit()
            except services.RubricError as exc:
                db.session.rollback()
                errors = {exc.field or "title": str(exc)}
            else:
                flash(_("已添加指标"), "success")
                return redirect(url_for("rubrics.show", rubric_id=rubric.id, _anchor=f"category-{target.id}"))
        _attach(form, errors, "title")
    return _indicator_page(form, rubric, category, None)


@bp.route("/<int:rubric_id>/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
@requires("rubrics.manage")
def edit_indicator(rubric_id: int, indicator_id: int):
    rubric = _rubric_or_404(rubric_id)
    indicator = _indicator_or_404(rubric, indicator_id)
    refused = _not_editable(rubric)
    if refused:
        return refused
    category = services.get_category(rubric, indicator.category_id)
    form = _indicator_form(rubric, indicator=indicator)
    if form.validate_on_submit():
        clean, errors = services.clean_indicator(form.data)
        target = services.get_category(rubric, form.category_id.data or 0)
        if target is None:
            errors["category_id"] = _("请选择所属类别")
        if not errors:
            try:
                services.update_indicator(rubric, indicator, clean, target)
                db.session.commit()
            except services.RubricError as exc:
                db.session.rollback()
                errors = {exc.field or "title": str(exc)}
            else:
                flash(_("指标已保存"), "success")
                return redirect(url_for("rubrics.show", rubric_id=rubric.id, _anchor=f"indicator-{indicator_id}"))
        _attach(form, errors, "title")
    return _indicator_page(form, rubric, category, indicator)


@bp.route("/<int:rubric_id>/indicators/<int:indicator_id>/delete", methods=["POST"])
@requires("rubrics.manage")
def delete_indicator(rubric_id: int, indicator_id: int):
    rubric = _rubric_or_404(rubric_id)
    indicator = _indicator_or_404(rubric, indicator_id)
    try:
        services.delete_indicator(rubric, indicator)
        db.session.commit()
        flash(_("已删除指标"), "success")
    except services.RubricError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("rubrics.show", rubric_id=rubric.id))


@bp.route("/<int:rubric_id>/indicators/<int:indicator_id>/move", methods=["POST"])
@requires("rubrics.manage")
def move_indicator(rubric_id: int, indicator_id: int):
    rubric = _rubric_or_404(rubric_id)
    indicator = _indicator_or_404(rubric, indicator_id)
    try:
        services.move_indicator(rubric, indicator, request.form.get("direction", ""))
        db.session.commit()
    except services.RubricError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("rubrics.show", rubric_id=rubric.id, _anchor=f"indicator-{indicator_id}"))
