"""CLI groups: ``flask users``, ``flask demo``, ``flask jobs`` (``flask tenants`` lives in tenants/)."""
import time

import click
from flask.cli import AppGroup
from flask import current_app

from app.extensions import db

users_cli = AppGroup("users", help="用户管理")
demo_cli = AppGroup("demo", help="演示数据")
jobs_cli = AppGroup("jobs", help="后台任务")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", default="", help="姓名")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--district", "district_slug", default=None, help="区县代码（授予区县或学校角色时必填）")
@click.option("--role", type=click.Choice(["platform_admin", "district_admin", "district_staff", "assessor",
                                           "school_chair", "school_editor"]), default=None)
@click.option("--school", "school_name", default=None, help="学校名称（学校角色）")
def create_user(username, display_name, password, district_slug, role, school_name):
    """新建用户，可同时授予角色。"""
    from sqlalchemy import select

    from app.accounts import services as accounts
    from app.accounts.models import PlatformRole
    from app.audit.services import record
    from tenants import provisioning
    from tenants.models import Membership, School
    from tenants.roles import SCHOOL_ROLES
    from tenants.scope import Scope, tenant_scope

    try:
        user = accounts.create_user(username, display_name or username, password, must_change_password=False)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc))
    if role == "platform_admin":
        db.session.add(PlatformRole(user_id=user.id, role=role))
    elif role:
        if not district_slug:
            raise click.ClickException("授予区县或学校角色时须指定 --district")
        district = provisioning.find_by_slug(district_slug)
        if district is None:
            raise click.ClickException(f"找不到区县 {district_slug}")
        with tenant_scope(Scope.district(district.id)):
            school_id = None
            if role in SCHOOL_ROLES:
                if not school_name:
                    raise click.ClickException("学校角色须指定 --school")
                school_id = db.session.scalar(select(School.id).where(School.name == school_name))
                if school_id is None:
                    raise click.ClickException(f"找不到学校 {school_name}")
            db.session.add(Membership(district_id=district.id, user_id=user.id, role=role, school_id=school_id))
            db.session.flush()
            record("user_created", target=user, district_id=district.id, details={"via": "cli", "role": role})
    db.session.commit()
    click.echo(f"已创建用户 {user.username}" + (f"（{role}）" if role else ""))


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="已有数据时不重复加载")
def load_demo(if_empty):
    """加载演示数据：示范区教育工会、学校、各角色用户。"""
    from app import demo

    if if_empty and demo.already_loaded():
        click.echo("演示数据已存在，跳过")
    else:
        demo.load()
        click.echo("演示数据已加载")
    for line in demo.login_lines():
        click.echo(line)


@demo_cli.command("generate")
@click.option("--districts", default=1, show_default=True, type=click.IntRange(1, 500), help="区县数")
@click.option("--schools", default=50, show_default=True, type=click.IntRange(1, 2000), help="每个区县的学校数")
@click.option("--seed", default=1, show_default=True, type=int, help="随机种子（相同种子生成相同数据）")
@click.option("--year", default=None, type=int, help="年度（默认今年）")
@click.option("--prefix", default="gen", show_default=True, help="区县代码前缀（gen001、gen002…）")
@click.option("--indicators", default=60, show_default=True, type=click.IntRange(6, 200), help="考核细则指标数")
@click.option("--no-round", is_flag=True, help="不生成年度考评轮次")
@click.option("--applicants", default=0, show_default=True, type=click.IntRange(0, 2000),
              help="另开一个申报中的先进职工之家评选，这么多所学校已填好自评、尚未提交")
@click.option("--stage", default="assessing", show_default=True, type=click.Choice(["assessing", "calibrating"]),
              help="年度考评所处阶段：评审中（九成评分表已提交）或核分（全部提交）")
def generate_demo(districts, schools, seed, year, prefix, indicators, no_round, applicants, stage):
    """生成合成数据（性能测试用）：区县、学校、用户、计划、活动、细则、考评与评分。"""
    from app import synthetic

    scale = synthetic.Scale(districts=districts, schools=schools, seed=seed, year=year, prefix=prefix,
                            indicators=indicators, with_round=not no_round,
                            applicants=min(applicants, schools), stage=stage)
    try:
        result = synthetic.generate(scale, progress=lambda done, total: click.echo(f"  区县 {done}/{total}"))
    except ValueError as exc:
        raise click.ClickException(str(exc))
    counts = "，".join(f"{name} {n}" for name, n in result.counts.items())
    click.echo(f"已生成 {districts} 个区县（{result.seconds:.1f} 秒）：{counts}")
    click.echo(f"登录：<区县代码>_admin、<区县代码>_c1 …，密码 {synthetic.PASSWORD}")


@jobs_cli.command("work")
@click.option("--burst", is_flag=True, help="处理完待办任务即退出")
def work(burst):
    """嵌入式任务进程：无 Redis 时运行数据库中的待办任务。"""
    from worker.embedded import work as run_worker

    if current_app.config.get("REDIS_URL"):
        raise click.ClickException("已配置 REDIS_URL：请使用 `rq worker --serializer json` 运行任务进程")
    done = run_worker(current_app._get_current_object(), burst=burst)
    click.echo(f"已完成 {done} 个任务")


@jobs_cli.command("sweep")
@click.option("--every", type=int, default=0, help="每隔 N 秒重复（0：只运行一次）")
def sweep(every):
    """补发任务：把 Redis 丢失或从未收到的任务重新入队。"""
    from app.jobs import services

    while True:
        with current_app.app_context():
            handed = services.sweep()
            db.session.remove()
        click.echo(f"已补发 {handed} 个任务")
        if every:
            _daily()
        if not every:
            break
        time.sleep(every)


def _daily():
    """Once per China day, from the clock loop: titles whose 复查 date has come become 待复查."""
    from app.titles.services import run_daily_if_new_day

    with current_app.app_context():
        try:
            counts = run_daily_if_new_day()
        finally:
            db.session.remove()
    if counts is not None:
        click.echo(f"复查到期：{sum(counts.values())} 个称号标记为待复查")
