"""In-app notifications (站内通知) and the plan-filing reminders that create them.

Reminders go to the chairs of schools that have not filed the year's plan: one
``Notification`` row each (school_id set), and an e-mail only when ``MAIL_SERVER`` is
configured. Mail is sent by a background job on the ``mail`` queue after the commit, so
the web never waits on an SMTP server.
"""
from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timezone
from email.message import EmailMessage

from flask import current_app, url_for
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.activities.models import Notification
from app.audit.services import record
from app.extensions import db
from app.jobs import services as jobs
from app.plans import services
from tenants.models import Membership
from tenants.roles import SCHOOL_CHAIR

log = logging.getLogger("jianjia.mail")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- reading

def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def notifications_query(user_id: int, unread_only: bool = False):
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def own_notification(notification_id: int, user_id: int) -> Notification | None:
    """The user's own notification in the current scope, or None (another's answers 404)."""
    return db.session.scalar(select(Notification).where(Notification.id == notification_id,
                                                        Notification.user_id == user_id))


def mark_read(note: Notification) -> None:
    # A statement, not a flush: Notification has no scope_school_id(), so the before_flush
    # check would treat it as a district-level row that a school scope may not write.
    if note.read_at is None:
        db.session.execute(update(Notification).where(Notification.id == note.id,
                                                      Notification.user_id == note.user_id)
                           .values(read_at=_now()).execution_options(synchronize_session=False))


def mark_all_read(user_id: int) -> int:
    result = db.session.execute(update(Notification).where(Notification.user_id == user_id,
                                                           Notification.read_at.is_(None))
                                .values(read_at=_now()).execution_options(synchronize_session=False))
    return result.rowcount or 0


# --------------------------------------------------------------------------- reminders

def reminder_text(year: int, school_name: str, due_on) -> str:
    when = f"请于 {due_on.year} 年 {due_on.month} 月 {due_on.day} 日前" if due_on else "请尽快"
    return f"【计划报送提醒】{school_name}尚未提交 {year} 年度工会工作计划，{when}在平台上提交。"


def send_reminders(year: int, actor: services.Actor, district_slug: str) -> dict:
    """Notify the chairs of every school whose plan for ``year`` is 未提交.

    A chair who still has the same unread reminder is not notified twice. Returns counts
    and the mail job run (None when no SMTP server is configured).
    """
    if not actor.may("plans.review"):
        raise services.PlanError("只有区教育工会管理员或工作人员可以发送提醒")
    deadline = services.deadline_for(year)
    due_on = deadline.due_on if deadline else None
    schools = [school for school, _, _ in db.session.execute(
        services.tracking_query(year, status=services.NOT_SUBMITTED)).all()]
    if not schools:
        return {"schools": 0, "notified": 0, "skipped": 0, "mail_run": None}
    by_id = {school.id: school for school in schools}
    chairs = db.session.execute(
        select(Membership.school_id, User.id).join(User, User.id == Membership.user_id)
        .where(Membership.school_id.in_(list(by_id)), Membership.role == SCHOOL_CHAIR, User.active.is_(True))
    ).all()
    texts = {school_id: reminder_text(year, school.name, due_on) for school_id, school in by_id.items()}
    already = set(db.session.execute(
        select(Notification.user_id, Notification.text).where(
            Notification.user_id.in_([user_id for _, user_id in chairs]),
            Notification.text.in_(list(texts.values())), Notification.read_at.is_(None))).all())
    created = []
    for school_id, user_id in chairs:
        text = texts[school_id]
        if (user_id, text) in already:
            continue
        note = Notification(user_id=user_id, school_id=school_id, text=text,
                            url=url_for("plans.show", district=district_slug, school=school_id, year=year))
        db.session.add(note)
        created.append(note)
    db.session.flush()
    run = None
    if created and current_app.config.get("MAIL_SERVER"):
        ids = [note.id for note in created]
        run = jobs.submit("plan_reminder_mail", f"plan-remind-{year}-{ids[0]}-{len(ids)}",
                          {"notification_ids": ids}, queue="mail", actor_user_id=actor.user_id)
    record("plan_reminders_sent", details={"year": year, "schools": len(schools), "notified": len(created)})
    return {"schools": len(schools), "notified": len(created), "skipped": len(chairs) - len(created),
            "mail_run": run}


# --------------------------------------------------------------------------- e-mail

def send_mail(to: str, subject: str, body: str) -> None:
    """Send one plain-text mail through the configured SMTP server."""
    cfg = current_app.config
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = cfg.get("MAIL_DEFAULT_SENDER") or cfg.get("MAIL_USERNAME") or "jianjia@localhost"
    message["To"] = to
    message.set_content(body)
    port = int(cfg.get("MAIL_PORT") or 25)
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], port, timeout=15)
    else:
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], port, timeout=15)
    with smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


@jobs.handler("plan_reminder_mail")
def mail_reminders(run, progress) -> dict:
    """E-mail the reminders of a run (idempotent per notification: its id is in the run)."""
    if not current_app.config.get("MAIL_SERVER"):
        return {"sent": 0, "skipped": 0, "note": "未配置邮件服务器，仅发送站内通知"}
    ids = list(run.args.get("notification_ids") or [])
    notes = db.session.scalars(select(Notification).where(Notification.id.in_(ids))).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([n.user_id for n in notes])))}
    sent, skipped, failed = 0, 0, 0
    for index, note in enumerate(notes, 1):
        user = users.get(note.user_id)
        if user is None or not user.email:
            skipped += 1
            continue
        try:
            send_mail(user.email, "工作计划报送提醒", note.text)
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            log.warning("reminder mail to user %s failed: %s", user.id, exc)
        progress(int(index * 100 / max(len(notes), 1)), f"已发送 {sent} 封")
    if failed and not sent:
        raise jobs.JobFailed(f"邮件发送失败（{failed} 封），请检查邮件服务器设置",
                             {"sent": sent, "skipped": skipped, "failed": failed})
    return {"sent": sent, "skipped": skipped, "failed": failed}
