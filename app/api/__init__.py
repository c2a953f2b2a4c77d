"""The JSON API under /api/v1/ (flask-smorest + marshmallow). OpenAPI: /api/v1/openapi.json.

Authentication by session (with CSRF, X-CSRFToken header) or by a per-user API token
(``Authorization: Bearer …``, no CSRF). Tenancy and permissions are the same as the web's.
"""


def register_api(app):
    from flask_smorest import Api

    from app.api import accounts, schools

    api = Api(app)  # one per app: the spec must not accumulate across test apps
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for blp in (accounts.blp, schools.blp):
        api.register_blueprint(blp)

    from app.api import activities

    api.register_blueprint(activities.blp)

    from app.rubrics import api as rubrics_api

    api.register_blueprint(rubrics_api.blp)
    from app.rounds import api as rounds_api

    api.register_blueprint(rounds_api.blp)
    from app.results import api as results_api

    api.register_blueprint(results_api.blp)
    from app.plans import api as plans_api

    api.register_blueprint(plans_api.blp)
    from app.titles import api as titles_api

    api.register_blueprint(titles_api.blp)
    from app.summaries import api as summaries_api

    api.register_blueprint(summaries_api.blp)
    return api
