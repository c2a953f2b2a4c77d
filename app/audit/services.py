"""Recording audit events. An event is written in the same transaction as the change it
describes; refusals and login failures commit on their own (nothing else is written)."""
from flask import g, has_request_context, request
from flask_login import current_user

from app.audit.models import AuditEvent
from app.extensions import db
from app.i18n import N_
from tenants.scope import current_scope


def client_ip() -> str:
    if not has_request_context():
        return ""
    return (request.remote_addr or "")[:64]


def record(action: str, *, target=None, target_type: str = "", target_id="", details=None,
           district_id=None, school_id=None, actor=None, commit: bool = False) -> AuditEvent:
    if target is not None:
        target_type = target_type or type(target).__name__
        target_id = target_id or getattr(target, "id", "")
    if district_id is None:
        district_id = getattr(target, "district_id", None)
        if district_id is None:
            scope = current_scope()
            district_id = scope.district_id if scope is not None else None
            if district_id is None and has_request_context() and getattr(g, "district", None) is not None:
                district_id = g.district.id
    if school_id is None and target is not None:
        school_id = getattr(target, "school_id", None)
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        details=details or {},
        district_id=district_id,
        school_id=school_id,
        actor_user_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", "") or "",
        ip=client_ip(),
    )
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


ACTION_LABELS = {
    "login": N_("登录"),
    "login_failed": N_("登录失败"),
    "login_throttled": N_("登录被限流"),
    "logout": N_("退出登录"),
    "password_changed": N_("修改密码"),
    "permission_denied": N_("越权访问被拒绝"),
    "user_created": N_("新建用户"),
    "user_updated": N_("修改用户"),
    "user_disabled": N_("停用用户"),
    "user_enabled": N_("启用用户"),
    "membership_added": N_("授予角色"),
    "membership_removed": N_("撤销角色"),
    "school_created": N_("新建学校"),
    "school_updated": N_("修改学校"),
    "district_created": N_("新建区县"),
    "district_offboarded": N_("注销区县"),
    "import_completed": N_("批量导入"),
    "import_rejected": N_("导入被拒绝"),
    "api_token_created": N_("创建API令牌"),
    "api_token_revoked": N_("吊销API令牌"),
    "rubric_created": N_("新建考核细则"),
    "rubric_imported": N_("导入考核细则"),
    "rubric_copied": N_("复制考核细则为新版本"),
    "rubric_published": N_("发布考核细则"),
    "rubric_deleted": N_("删除考核细则版本"),
    "activity_created": N_("新增活动记录"),
    "activity_updated": N_("修改活动记录"),
    "activity_deleted": N_("删除活动记录"),
    "activity_file_added": N_("上传活动照片/附件"),
    "activity_file_deleted": N_("删除活动照片/附件"),
    "upload_rejected": N_("上传被拒绝"),
    "sensitive_read": N_("查看完整个人信息"),
    "unmask_refused": N_("查看完整个人信息被拒绝"),
}
