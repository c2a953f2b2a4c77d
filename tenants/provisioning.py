"""Creating and removing tenants (CLI and platform admin).

Offboarding is the one reviewed place that deletes tenant rows with Core statements: it
walks every tenant table in reverse dependency order inside one transaction.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import delete, select

from app.extensions import db
from tenants.models import SCHOOL_KINDS, District, School, TenantMixin
from tenants.scope import Scope, system_scope, tenant_scope

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$")


class ProvisioningError(ValueError):
    pass


def create_district(slug: str, name: str, region: str = "") -> District:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise ProvisioningError("区县代码只能由小写字母、数字和连字符组成，2 到 40 个字符")
    if not (name or "").strip():
        raise ProvisioningError("请填写区县教育工会名称")
    with system_scope("provision a new district"):
        if db.session.scalar(select(District.id).where(District.slug == slug)):
            raise ProvisioningError(f"区县代码 {slug} 已存在")
        district = District(slug=slug, name=name.strip(), region=(region or "").strip())
        db.session.add(district)
        db.session.flush()
    return district


def add_school(district: District, name: str, kind: str = "primary", *, code: str | None = None,
               staff_count: int = 0, member_count: int = 0, address: str = "") -> School:
    if kind not in SCHOOL_KINDS:
        raise ProvisioningError(f"未知的学校类型：{kind}")
    with tenant_scope(Scope.district(district.id)):
        if db.session.scalar(select(School.id).where(School.name == name.strip())):
            raise ProvisioningError(f"学校 {name} 已存在")
        school = School(district_id=district.id, name=name.strip(), kind=kind, code=code or None,
                        staff_count=staff_count, member_count=member_count, address=address)
        db.session.add(school)
        db.session.flush()
    return school


def offboard(district: District, upload_root: str, *other_roots: str) -> dict[str, int]:
    """Remove every row and file of ``district`` (``<root>/<district id>`` under the upload root and
    every other file root, e.g. compiled artifacts). Users left with no role anywhere go too.

    Returns the number of rows removed per table. The caller commits and audits.
    """
    counts: dict[str, int] = {}
    metadata = db.Model.metadata
    tenant_tables = {cls.__table__.name for cls in _tenant_classes()}
    with system_scope(f"offboard district {district.id}"):
        membership = metadata.tables["membership"]
        user_ids = set(db.session.scalars(select(membership.c.user_id).where(
            membership.c.district_id == district.id)))
        for table in reversed(metadata.sorted_tables):
            if table.name in tenant_tables:
                result = db.session.execute(delete(table).where(table.c.district_id == district.id))
                counts[table.name] = result.rowcount or 0
        if user_ids:
            users = metadata.tables["user_account"]
            platform = metadata.tables["platform_role"]
            still_member = select(membership.c.user_id).where(membership.c.user_id.in_(user_ids))
            is_platform = select(platform.c.user_id)
            result = db.session.execute(
                delete(users).where(users.c.id.in_(user_ids), users.c.id.not_in(still_member),
                                    users.c.id.not_in(is_platform))
            )
            counts["user_account"] = result.rowcount or 0
        district_table = metadata.tables["district"]
        db.session.execute(delete(district_table).where(district_table.c.id == district.id))
        db.session.expunge_all()
    for file_root in (upload_root, *other_roots):
        folder = Path(file_root) / str(district.id)
        if folder.exists():
            counts["files"] = counts.get("files", 0) + sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder)
    return counts


def _tenant_classes():
    return [m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, TenantMixin)]


def find_by_slug(slug: str) -> District | None:
    with system_scope("look up a district by its slug"):
        return db.session.scalar(select(District).where(District.slug == slug))
