"""``flask tenants …``: provisioning and offboarding from the command line."""
import click
from flask.cli import AppGroup
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from tenants import provisioning
from tenants.models import SCHOOL_KINDS, District, utcnow

tenants_cli = AppGroup("tenants", help="区县与学校（租户）管理")


def _district(slug: str) -> District:
    district = provisioning.find_by_slug(slug)
    if district is None:
        raise click.ClickException(f"找不到区县 {slug}")
    return district


@tenants_cli.command("create-district")
@click.argument("slug")
@click.argument("name")
@click.option("--region", default="", help="所在地区，如 某省某市")
def create_district(slug, name, region):
    """新建区县（租户）。SLUG 用于网址，如 demo；NAME 如 示范区教育工会。"""
    try:
        district = provisioning.create_district(slug, name, region)
    except provisioning.ProvisioningError as exc:
        raise click.ClickException(str(exc))
    summary = f"已创建区县 {district.name}（/d/{district.slug}/，id={district.id}）"
    _audit("district_created", district.id, {"slug": district.slug, "name": district.name, "via": "cli"})
    db.session.commit()  # after this the row is only visible inside its scope (RLS)
    click.echo(summary)


@tenants_cli.command("add-school")
@click.argument("district_slug")
@click.argument("name")
@click.option("--kind", type=click.Choice(sorted(SCHOOL_KINDS)), default="primary", show_default=True)
@click.option("--code", default=None)
@click.option("--staff", "staff_count", type=click.IntRange(min=0), default=0)
@click.option("--members", "member_count", type=click.IntRange(min=0), default=0)
def add_school(district_slug, name, kind, code, staff_count, member_count):
    """在区县下新增学校工会。"""
    district = _district(district_slug)
    try:
        school = provisioning.add_school(district, name, kind, code=code, staff_count=staff_count,
                                         member_count=member_count)
    except provisioning.ProvisioningError as exc:
        raise click.ClickException(str(exc))
    summary = f"已新增学校 {school.name}（id={school.id}）"
    _audit("school_created", district.id, {"name": school.name, "via": "cli"}, school_id=school.id)
    db.session.commit()
    click.echo(summary)


@tenants_cli.command("offboard")
@click.argument("district_slug")
@click.option("--yes", is_flag=True, help="不再确认")
def offboard(district_slug, yes):
    """注销区县：删除该区县的全部数据与文件（不可恢复，留有审计记录）。"""
    district = _district(district_slug)
    if not yes:
        click.confirm(f"将永久删除 {district.name} 的全部数据和文件，确定吗？", abort=True)
    district_id, name = district.id, district.name
    from app.compilation.storage import root as artifact_root

    counts = provisioning.offboard(district, current_app.config["UPLOAD_FOLDER"], artifact_root())
    _audit("district_offboarded", district_id, {"slug": district_slug, "name": name, "removed": counts,
                                                "via": "cli"})
    db.session.commit()
    total = sum(v for k, v in counts.items() if k != "files")
    click.echo(f"已注销 {name}：删除 {total} 行数据、{counts.get('files', 0)} 个文件")


@tenants_cli.command("list")
def list_districts():
    """列出全部区县。"""
    from tenants.scope import system_scope

    with system_scope("cli: list districts"):
        for d in db.session.scalars(select(District).order_by(District.id)):
            click.echo(f"{d.id}\t{d.slug}\t{d.name}\t{'启用' if d.active else '停用'}")


def _audit(action, district_id, details, school_id=None):
    # The audit model lives in the app; tenants records through the registry by table name.
    table = db.Model.metadata.tables["audit_event"]
    db.session.execute(table.insert().values(
        action=action, district_id=district_id, school_id=school_id, details=details,
        actor_name="cli", target_type="District", target_id=str(district_id), ip="",
        at=utcnow()))
