"""DESIGN §3.1: every tenant table carries district_id in its primary key and in every
foreign key to another tenant table; everything else is a reviewed global table."""
from sqlalchemy import inspect

from app.extensions import db
from tenants.models import GLOBAL_TABLES, TenantMixin, tenant_models


def _tenant_tables():
    return {m.__table__.name for m in tenant_models()}


def test_every_table_is_tenant_owned_or_listed_global(app):
    tables = set(db.metadata.tables)
    unlisted = tables - _tenant_tables() - set(GLOBAL_TABLES)
    assert not unlisted, f"tables neither tenant-owned nor listed in GLOBAL_TABLES: {unlisted}"
    assert not (_tenant_tables() & set(GLOBAL_TABLES))


def test_tenant_tables_have_district_id_in_primary_key():
    for model in tenant_models():
        pk = [c.name for c in model.__table__.primary_key.columns]
        assert pk[0] == "district_id" and "id" in pk and len(pk) == 2, (model.__tablename__, pk)
        assert model.__table__.c.district_id.nullable is False


def test_foreign_keys_between_tenant_tables_include_district_id():
    tenant_tables = _tenant_tables()
    for model in tenant_models():
        for fk in model.__table__.foreign_key_constraints:
            target = fk.referred_table.name
            if target in tenant_tables:
                local = [c.name for c in fk.columns]
                remote = [e.column.name for e in fk.elements]
                assert local[0] == "district_id" and remote[0] == "district_id", (model.__tablename__, local, remote)


def test_school_partitioned_models_name_their_school_column():
    for model in tenant_models():
        column = getattr(model, "__school_column__", None)
        if "school_id" in model.__table__.c:
            assert column == "school_id", f"{model.__tablename__} has school_id but no __school_column__"


def test_every_model_with_district_id_uses_the_tenant_mixin():
    for mapper in db.Model.registry.mappers:
        table = mapper.class_.__table__
        if "district_id" in table.c and table.name not in GLOBAL_TABLES:
            assert issubclass(mapper.class_, TenantMixin), table.name


def test_migrated_schema_matches_the_models(app):
    """The migrations create exactly what the models declare (on this backend)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_migrated_database_has_composite_foreign_keys(app):
    with app.app_context():
        inspector = inspect(db.engine)
        fks = inspector.get_foreign_keys("membership")
        school_fk = [fk for fk in fks if fk["referred_table"] == "school"]
        assert school_fk and school_fk[0]["constrained_columns"] == ["district_id", "school_id"]
