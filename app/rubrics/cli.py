"""``flask rubrics …``: the shipped templates."""
import click
from flask.cli import AppGroup

from app.extensions import db

rubrics_cli = AppGroup("rubrics", help="考核细则")


@rubrics_cli.command("load-templates")
@click.argument("district_slug")
def load_templates(district_slug):
    """把内置的考核细则模板载入一个区县（已载入的跳过），均为草稿。"""
    from app.rubrics import template_library
    from tenants import provisioning
    from tenants.scope import Scope, tenant_scope

    district = provisioning.find_by_slug(district_slug)
    if district is None:
        raise click.ClickException(f"找不到区县 {district_slug}")
    with tenant_scope(Scope.district(district.id)):
        done = template_library.load_all()
        db.session.commit()
        for template, rubric in done:
            if rubric is None:
                click.echo(f"已存在，跳过：{template.label}")
            else:
                click.echo(f"已载入：{template.label}（草稿，第 {rubric.version} 版）")


@rubrics_cli.command("templates")
def list_templates():
    """列出内置的考核细则模板。"""
    from app.rubrics import template_library

    for template in template_library.all_templates():
        click.echo(f"{template.key}\t{template.label}\t{template.source}")
