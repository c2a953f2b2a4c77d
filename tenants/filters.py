"""The fail-closed ORM filter (DESIGN §3.2).

* SELECT, UPDATE and DELETE on tenant models get ``with_loader_criteria`` for the scope.
* A statement touching a tenant model with no scope on the session raises.
* ``before_flush`` allocates ids and refuses any new or changed row outside the scope.
"""
from collections import defaultdict

from sqlalchemy import event
from sqlalchemy.orm import Session, with_loader_criteria

from tenants import ids
from tenants.models import TenantMixin, tenant_models
from tenants.scope import SCOPE_KEY, TenantScopeError


_PARTITIONED: list = []


def _school_partitioned() -> list:
    """Tenant models with a school column: in a school scope they show that school's rows only."""
    if not _PARTITIONED:
        _PARTITIONED.extend(m for m in tenant_models() if getattr(m, "__school_column__", None))
    return _PARTITIONED


def _touches_tenant_model(state) -> bool:
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, TenantMixin):
            return True
    return False


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state):
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load:
        return
    scope = state.session.info.get(SCOPE_KEY)
    if scope is None:
        if _touches_tenant_model(state):
            raise TenantScopeError("没有租户范围的查询被拒绝 (query on a tenant table without a scope)")
        return
    if scope.is_system:
        return
    school_ids = None if scope.school_ids is None else tuple(sorted(scope.school_ids))
    state.statement = state.statement.options(*_scope_options(scope.district_id, school_ids))


_OPTIONS: dict = {}
_OPTIONS_MAX = 512


def _scope_options(district_id, school_ids: tuple | None) -> tuple:
    """The loader criteria of a scope, built once per (district, schools) and reused: building
    ``school_id IN (...)`` for every school-partitioned model on every statement cost an
    assessor with a hundred schools ~1 ms per query. The options are immutable; the key is the
    whole scope, so a cached entry is exactly what would be built afresh."""
    key = (district_id, school_ids)
    options = _OPTIONS.get(key)
    if options is None:
        options = [with_loader_criteria(TenantMixin, lambda cls: cls.district_id == district_id,
                                        include_aliases=True)]
        if school_ids is not None:
            for cls in _school_partitioned():
                column = getattr(cls, cls.__school_column__)
                options.append(with_loader_criteria(cls, column.in_(school_ids), include_aliases=True))
        options = tuple(options)
        if len(_OPTIONS) >= _OPTIONS_MAX:
            _OPTIONS.clear()
        _OPTIONS[key] = options
    return options


@event.listens_for(Session, "before_flush")
def _check_and_allocate(session, flush_context, instances):
    tenant_objs = [o for o in session.new if isinstance(o, TenantMixin)]
    changed = [o for o in session.dirty if isinstance(o, TenantMixin)]
    deleted = [o for o in session.deleted if isinstance(o, TenantMixin)]
    if not (tenant_objs or changed or deleted):
        return
    scope = session.info.get(SCOPE_KEY)
    if scope is None:
        raise TenantScopeError("没有租户范围不能写入 (write to a tenant table without a scope)")
    for obj in tenant_objs:
        if obj.district_id is None and not scope.is_system:
            obj.district_id = scope.district_id
    for obj in tenant_objs + changed + deleted:
        if obj.district_id is None or not scope.allows(obj.district_id, obj.scope_school_id()):
            raise TenantScopeError(
                f"越权写入被拒绝：{type(obj).__name__} 不在当前范围内 (write outside the scope)"
            )
    _allocate_ids(session, tenant_objs)


def _allocate_ids(session, objs) -> None:
    pending = defaultdict(list)
    for obj in objs:
        if obj.id is None:
            pending[obj.__table__.name].append(obj)
    if not pending:
        return
    connection = session.connection()
    for table, group in pending.items():
        for obj, new_id in zip(group, ids.allocate(connection, table, len(group))):
            obj.id = new_id
