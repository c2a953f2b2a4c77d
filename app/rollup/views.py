"""The district roll-up (汇总) pages: the dashboard with its progress bar, recompile,
downloads (Excel 汇总表, PDF report) and the JSON the charts read."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.access import requires
from app.compilation import storage
from app.compilation.models import ROLLUP_JSON, ROLLUP_PDF, ROLLUP_XLSX
from app.extensions import db
from app.rollup import data, services

bp = Blueprint("rollup", __name__, url_prefix="/d/<district>/rollup", template_folder="templates")

MIMETYPES = {ROLLUP_XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             ROLLUP_PDF: "application/pdf"}


def _check_year(year: int) -> int:
    if not 2000 <= year <= 2100:
        abort(404)
    return year


@bp.route("/")
@requires("rollup.view")
def index():
    from app.activities.services import current_year

    return redirect(url_for("rollup.show", year=current_year()))


SCHOOLS_BLOCK = "rollup-schools-block"  # the element htmx swaps when paging/sorting the school table


@bp.route("/<int:year>")
@requires("rollup.view")
def show(year: int):
    """The dashboard: district figures and charts, and one page of the school table (50 rows,
    searched/filtered/sorted server-side). Paging the table with htmx answers the table alone."""
    _check_year(year)
    if (request.headers.get("HX-Request") and request.headers.get("HX-Target") == SCHOOLS_BLOCK
            and not request.headers.get("HX-History-Restore-Request")):
        artifact = storage.find(ROLLUP_JSON, services.subject(year))
        if storage.exists(artifact):
            figures = services.figures(artifact)
            table = _school_table(figures)
            return render_template("rollup/_schools.html", year=year, figures=figures, table=table, pct=data.pct,
                                   labels=_row_labels(table.page.items))
    st = services.state(year)
    figures = services.figures(st.artifact) if st.artifact else None
    table = _school_table(figures) if figures else None  # the charts read data.json (the same figures)
    return render_template("rollup/show.html", year=year, st=st, figures=figures, pct=data.pct, table=table,
                           labels=_row_labels(table.page.items if table else []))


def _school_table(figures: dict) -> services.SchoolTable:
    args = request.args
    return services.school_table(figures["schools"], q=args.get("q", ""), kind=args.get("kind", ""),
                                 sort=args.get("sort", "name"), desc=args.get("dir") == "desc",
                                 page=args.get("page", 1, type=int) or 1)


def _row_labels(rows: list[dict]) -> dict:
    """The run-time labels of the shown school rows, each translated once (a page has 50 rows
    but a handful of distinct kinds and states)."""
    from app.i18n import translate

    values = {r.get(key) for r in rows for key in ("kind_label", "plan_status_label", "summary_status_label")}
    return {value: translate(value) for value in values if value}


@bp.route("/<int:year>/compile", methods=["POST"])
@requires("rollup.compile")
def compile(year: int):
    _check_year(year)
    services.submit(year, current_user.id)
    db.session.commit()
    flash(_("已开始汇总，完成后本页自动刷新"), "info")
    return redirect(url_for("rollup.show", year=year))


@bp.route("/<int:year>/data.json")
@requires("rollup.view")
def data_json(year: int):
    _check_year(year)
    st = services.state(year)
    if st.artifact is None:
        return jsonify({"year": year, "ready": False, "stale": False,
                        "run": st.run.id if st.run else None}), 200
    payload = services.dashboard(services.figures(st.artifact))
    if request.args.get("charts") == "1":  # what the dashboard's charts read: no per-school rows
        payload.pop("schools")
    payload.update(ready=True, stale=st.stale, fingerprint=st.artifact.fingerprint)
    return jsonify(payload)


def _download(year: int, kind: str):
    _check_year(year)
    st = services.state(year)
    artifact = storage.find(kind, services.subject(year), st.artifact.fingerprint) if st.artifact else None
    if not storage.exists(artifact):
        flash(_("汇总尚未生成，请先点击“生成汇总”"), "warning")
        return redirect(url_for("rollup.show", year=year))
    return send_file(storage.absolute(artifact), mimetype=MIMETYPES[kind], as_attachment=True,
                     download_name=artifact.filename, max_age=0)


@bp.route("/<int:year>/rollup.xlsx")
@requires("rollup.view")
def download_xlsx(year: int):
    return _download(year, ROLLUP_XLSX)


@bp.route("/<int:year>/rollup.pdf")
@requires("rollup.view")
def download_pdf(year: int):
    return _download(year, ROLLUP_PDF)
