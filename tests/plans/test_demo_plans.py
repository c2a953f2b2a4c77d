"""The demo district's plans: imported from the two sample plans through the real parser and
services, in every tracking status, with activity records so completion rates differ."""
from sqlalchemy import select

from app.activities import services as activities
from app.extensions import db
from app.plans import services as plans
from tenants.models import District
from tenants.scope import Scope, tenant_scope


def test_demo_load_files_plans_in_every_status_with_real_completion(app):
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with tenant_scope(Scope.system("test: find the demo district")):
            district_id = db.session.scalar(select(District.id).where(District.slug == "demo"))
        with tenant_scope(Scope.district(district_id)):
            year = plans.today_china().year
            counts = plans.tracking_counts(year)
            rows = {row.school_id: row for row in activities.district_completion(year)}
            deadline = plans.deadline_for(year)
        db.session.remove()
    assert counts == {"not_submitted": 4, "submitted": 2, "returned": 1, "approved": 6, "total": 13}
    assert deadline is not None and deadline.due_on.month == 12
    planned = [r for r in rows.values() if r.planned]
    assert len(planned) == 10 and all(r.planned >= 10 for r in planned)
    rates = sorted({round(r.rate, 2) for r in planned if r.done})
    assert len(rates) >= 4 and all(0 < rate <= 1 for rate in rates)
    assert all(r.done <= r.planned for r in planned)
