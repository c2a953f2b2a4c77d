"""Roles (DESIGN §1) and what each may do. Roles are membership rows, never user columns."""

DISTRICT_ADMIN = "district_admin"
DISTRICT_STAFF = "district_staff"
ASSESSOR = "assessor"
SCHOOL_CHAIR = "school_chair"
SCHOOL_EDITOR = "school_editor"
PLATFORM_ADMIN = "platform_admin"

DISTRICT_ROLES = (DISTRICT_ADMIN, DISTRICT_STAFF, ASSESSOR)
SCHOOL_ROLES = (SCHOOL_CHAIR, SCHOOL_EDITOR)
ALL_ROLES = DISTRICT_ROLES + SCHOOL_ROLES

# Roles whose scope is the whole district (all schools of it).
WHOLE_DISTRICT_ROLES = frozenset({DISTRICT_ADMIN, DISTRICT_STAFF})

ROLE_LABELS = {
    PLATFORM_ADMIN: "平台管理员",
    DISTRICT_ADMIN: "区教育工会管理员",
    DISTRICT_STAFF: "区教育工会工作人员",
    ASSESSOR: "评审专家",
    SCHOOL_CHAIR: "学校工会主席",
    SCHOOL_EDITOR: "工会委员",
}

# permission -> roles that hold it. Views name a permission; nothing checks roles directly.
PERMISSIONS = {
    "district.view": {DISTRICT_ADMIN, DISTRICT_STAFF},
    "district.manage": {DISTRICT_ADMIN},
    "audit.view": {DISTRICT_ADMIN},
    "jobs.view": {DISTRICT_ADMIN, DISTRICT_STAFF, SCHOOL_CHAIR, SCHOOL_EDITOR},
    "school.view": {DISTRICT_ADMIN, DISTRICT_STAFF, SCHOOL_CHAIR, SCHOOL_EDITOR},
    "school.edit": {SCHOOL_CHAIR, SCHOOL_EDITOR},
    "school.submit": {SCHOOL_CHAIR},
    "plans.review": {DISTRICT_ADMIN, DISTRICT_STAFF},
    "plans.deadline": {DISTRICT_ADMIN},
    "platform.manage": {PLATFORM_ADMIN},
    "rubrics.view": {DISTRICT_ADMIN, DISTRICT_STAFF, ASSESSOR},
    "rubrics.manage": {DISTRICT_ADMIN},
    "rounds.view": {DISTRICT_ADMIN, DISTRICT_STAFF},
    "rounds.manage": {DISTRICT_ADMIN},
    "assessments.view": {DISTRICT_ADMIN, DISTRICT_STAFF},
    "assessments.manage": {DISTRICT_ADMIN},
    "assess.score": {ASSESSOR},
    "titles.view": {DISTRICT_ADMIN, DISTRICT_STAFF},
    "titles.manage": {DISTRICT_ADMIN},
    "results.view": {DISTRICT_ADMIN, DISTRICT_STAFF},
    "results.manage": {DISTRICT_ADMIN},
    "results.object": {DISTRICT_ADMIN, DISTRICT_STAFF, SCHOOL_CHAIR, SCHOOL_EDITOR},  # 异议 during the 公示
    "rollup.view": {DISTRICT_ADMIN, DISTRICT_STAFF},     # roll-ups, dossier bundles
    "rollup.compile": {DISTRICT_ADMIN, DISTRICT_STAFF},
}


def roles_allow(roles, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return bool(PERMISSIONS[permission] & set(roles))
