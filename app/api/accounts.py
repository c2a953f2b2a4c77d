from flask_login import current_user
from flask_smorest import Blueprint

from app.access import AUTHENTICATED, requires
from app.api.schemas import MeSchema
from app.main.views import workplaces

blp = Blueprint("api_me", __name__, url_prefix="/api/v1", description="当前用户")


@blp.route("/me")
@requires(AUTHENTICATED)
@blp.response(200, MeSchema)
def me():
    """当前登录用户及其角色"""
    user = current_user._get_current_object()
    data = MeSchema().dump(user)
    # @blp.response dumps this dict again, where "phone" is read from "masked_phone".
    data["masked_phone"] = data.pop("phone", "")
    data["memberships"] = [{"label": p["label"], "roles": p["roles"], "url": p["url"]} for p in workplaces(user)]
    return data
