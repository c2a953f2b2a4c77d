"""``flask titles …``: the daily 复查 due-date run.

Scheduling: the ``clock`` process of the Procfile (``flask jobs sweep --every 60``) and the
embedded worker (``flask jobs work``, used by ``make run``) call
``app.titles.services.run_daily_if_new_day()`` once per China day, so nothing has to be
set up. Without either process (e.g. a plain cron set-up) run this command daily:
``0 1 * * * cd /srv/jianjia && .venv/bin/flask --app app titles mark-due``. It is idempotent.
"""
from datetime import date

import click
from flask.cli import AppGroup

titles_cli = AppGroup("titles", help="荣誉称号")


@titles_cli.command("mark-due")
@click.option("--district", "district_slug", default=None, help="只处理一个区县（区县代码）")
@click.option("--today", "today", default=None, help="按此日期计算（YYYY-MM-DD，默认今天，北京时间）")
def mark_due_command(district_slug, today):
    """把复查到期（或整改期限已过）的荣誉称号标记为「待复查」。可重复运行。"""
    from app.titles import services

    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        raise click.ClickException("日期格式不正确，请按 2026-03-08 的格式填写") from None
    counts = services.mark_due_everywhere(day, district_slug=district_slug)
    if district_slug and not counts:
        raise click.ClickException(f"找不到启用的区县 {district_slug}")
    for slug, marked in counts.items():
        click.echo(f"{slug}：{marked} 个称号到期待复查")
    click.echo(f"合计 {sum(counts.values())} 个")
