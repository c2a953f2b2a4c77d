from flask import Blueprint, g, render_template
from sqlalchemy import select

from app.access import requires
from app.extensions import db
from tenants.models import Membership

bp = Blueprint("schools", __name__, url_prefix="/d/<district>/s/<int:school>", template_folder="templates")


@bp.route("/")
@requires("school.view")
def home():
    people = db.session.scalars(select(Membership).where(Membership.school_id == g.school.id)
                                .order_by(Membership.role)).all()
    from app.activities import services as activities

    year = activities.current_year()
    from app.titles import services as titles
    from app.titles.views import LABELS as title_labels

    from app.summaries import services as summaries

    return render_template("schools/home.html", school=g.school, people=people, activity_year=year,
                           year_summary=summaries.get_summary(g.school.id, year),
                           activity_completion=activities.completion_for_school(g.school.id, year),
                           titles=titles.school_titles(g.school.id),
                           title_exemplars=titles.school_exemplars(g.school.id), **title_labels)
