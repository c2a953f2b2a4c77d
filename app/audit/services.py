"""Recording audit events. An event is written in the same transaction as the change it
describes; refusals and login failures commit on their own (nothing else is written)."""
from flask import g, has_request_context, request
from flask_login import current_user

from app.audit.models import AuditEvent
from app.extensions import db
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
    "login": "登录",
    "login_failed": "登录失败",
    "login_throttled": "登录被限流",
    "logout": "退出登录",
    "password_changed": "修改密码",
    "permission_denied": "越权访问被拒绝",
    "user_created": "新建用户",
    "user_updated": "修改用户",
    "user_disabled": "停用用户",
    "user_enabled": "启用用户",
    "membership_added": "授予角色",
    "membership_removed": "撤销角色",
    "school_created": "新建学校",
    "school_updated": "修改学校",
    "district_created": "新建区县",
    "district_offboarded": "注销区县",
    "import_completed": "批量导入",
    "import_rejected": "导入被拒绝",
    "api_token_created": "创建API令牌",
    "api_token_revoked": "吊销API令牌",
    "rubric_created": "新建考核细则",
    "rubric_imported": "导入考核细则",
    "rubric_copied": "复制考核细则为新版本",
    "rubric_published": "发布考核细则",
    "rubric_deleted": "删除考核细则版本",
    "activity_created": "新增活动记录",
    "activity_updated": "修改活动记录",
    "activity_deleted": "删除活动记录",
    "activity_file_added": "上传活动照片/附件",
    "activity_file_deleted": "删除活动照片/附件",
    "upload_rejected": "上传被拒绝",
}
