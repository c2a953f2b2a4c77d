"""The measured pages, shared by the benchmark (bench.py) and its light CI version
(tests/test_perf_light.py): a district's pages by the generated data they need.

``info`` of a generated district: {"year", "annual_round", "open_sheets": [{"login", "assignment",
"indicator", "points"}]} — the open sheets come from a district generated in the assessing stage
(one in ten sheets still open), the calibration view from a district generated with
``--stage calibrating``."""


def page_urls(slug: str, info: dict) -> dict[str, str]:
    """GET pages, read as the district admin. The roll-up dashboard expects the roll-up compiled
    (``compile_rollup``), otherwise it shows the empty 'not compiled yet' page."""
    year, round_id = info["year"], info["annual_round"]
    return {
        "plan_tracking": f"/d/{slug}/plans/{year}/tracking",
        "completion": f"/d/{slug}/activities/{year}/completion",
        "round_progress": f"/d/{slug}/rounds/{round_id}/",
        "district_dashboard": f"/d/{slug}/rollup/{year}",
    }


def calibration_url(slug: str, info: dict) -> str:
    """The calibration view (核分) of a round in calibrating, read as the district admin."""
    return f"/d/{slug}/results/{info['annual_round']}/"


def score_save(slug: str, sheet: dict) -> dict:
    """The assessor's per-indicator save (htmx POST) on one of their open sheets: the URL, the
    sheet page (for the CSRF token) and the form."""
    assignment, indicator = sheet["assignment"], sheet["indicator"]
    return {"url": f"/d/{slug}/assess/{assignment}/indicators/{indicator}", "page": f"/d/{slug}/assess/{assignment}",
            "data": {f"points-{indicator}": str(sheet["points"])}, "login": sheet["login"]}


def open_sheets(round_, limit: int | None = None) -> list[dict]:
    """Open (unsubmitted) sheets of ``round_`` with their assessor's login and a plain points
    indicator to save: at most one sheet per assessor first, then more (so concurrent users of
    the benchmark save different sheets). Call inside the district's tenant scope."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.assessments.models import SHEET_ASSIGNED, Assessor, Assignment
    from app.extensions import db
    from app.rounds import services as rounds_services
    from app.rubrics.models import POINTS

    parts = rounds_services.rubric_parts(round_.rubric_id)
    indicator = next(i for i in parts.indicators if i.kind == POINTS and i.max_points and not i.must_pass
                     and not i.veto and not rounds_services.is_provided(i))
    rows = db.session.execute(
        select(Assignment.id, User.username).join(Assessor, (Assessor.district_id == Assignment.district_id)
                                                  & (Assessor.id == Assignment.assessor_id))
        .join(User, User.id == Assessor.user_id)
        .where(Assignment.round_id == round_.id, Assignment.status == SHEET_ASSIGNED)
        .order_by(Assignment.id)).all()
    by_login: dict[str, list[int]] = {}
    for assignment_id, login in rows:
        by_login.setdefault(login, []).append(assignment_id)
    ordered, depth = [], 0
    while len(ordered) < len(rows) and (limit is None or len(ordered) < limit):
        for login, ids in sorted(by_login.items()):
            if depth < len(ids):
                ordered.append({"login": login, "assignment": ids[depth], "indicator": indicator.id,
                                "points": float(indicator.max_points) / 2})
        depth += 1
    return ordered[:limit] if limit else ordered


def compile_rollup(district_id: int, year: int) -> str:
    """Compile the district's roll-up once through the app's own job (submit, commit, run the
    run to the end in this process), so the dashboard opens from its stored figures. Returns the
    run's final status. A run already done (same inputs) is kept."""
    from app.extensions import db
    from app.jobs import services as jobs
    from app.rollup import services as rollup
    from tenants.scope import Scope, tenant_scope

    with tenant_scope(Scope.district(district_id)):
        run = rollup.submit(year, None)
        run_id, finished, status = run.id, run.finished, run.status
        db.session.commit()
    return status if finished else jobs.execute(district_id, run_id)
