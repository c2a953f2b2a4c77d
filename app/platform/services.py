from app.accounts import services as accounts
from app.audit.services import record
from app.extensions import db
from tenants import provisioning
from tenants.models import Membership
from tenants.roles import DISTRICT_ADMIN
from tenants.scope import Scope, tenant_scope


class PlatformError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def create_district_with_admin(slug, name, region, admin_username, admin_name, admin_password):
    """A new district and its first district admin, in the caller's transaction."""
    try:
        district = provisioning.create_district(slug, name, region)
    except provisioning.ProvisioningError as exc:
        raise PlatformError(str(exc), field="slug" if "代码" in str(exc) else "name")
    try:
        admin = accounts.create_user(admin_username, admin_name, admin_password)
    except accounts.AccountError as exc:
        raise PlatformError(str(exc), field="admin_password" if exc.field == "new" else "admin_username")
    with tenant_scope(Scope.district(district.id)):
        db.session.add(Membership(district_id=district.id, user_id=admin.id, role=DISTRICT_ADMIN))
        db.session.flush()
    record("district_created", target=district, district_id=district.id,
           details={"slug": district.slug, "name": district.name, "admin": admin.username})
    return district, admin
