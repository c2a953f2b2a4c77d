"""The shipped rubric templates: JSON data files in ``templates_data/`` (never code).

A template becomes an ordinary, editable draft rubric of a district ("从模板新建", the
``flask rubrics load-templates`` command and the demo data). Where a transcribed source is cut
off, the template's ``notes`` say so and its draft does not add up until the district
completes it: nothing is invented.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select

from app.extensions import db
from app.rubrics import services
from app.rubrics.models import Rubric

DATA_DIR = os.path.join(os.path.dirname(__file__), "templates_data")


@dataclass(frozen=True)
class Template:
    key: str
    label: str
    source: str
    data: dict


@lru_cache(maxsize=1)
def _load() -> tuple[Template, ...]:
    out = []
    for name in sorted(os.listdir(DATA_DIR)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(DATA_DIR, name), encoding="utf-8") as fh:
            data = json.load(fh)
        out.append(Template(key=data["key"], label=data["label"], source=data.get("source", ""), data=data))
    return tuple(out)


def all_templates() -> list[Template]:
    return list(_load())


def get(key: str) -> Template | None:
    return next((t for t in _load() if t.key == key), None)


def document(template: Template) -> dict:
    """The template as a cleaned rubric document; a broken data file is a programming error."""
    clean, errors = services.clean_document(template.data)
    if errors:
        raise ValueError(f"rubric template {template.key} is invalid: {errors}")
    return clean


def create_from(template: Template) -> Rubric:
    """A new draft rubric (its own family) from a template, in the current district."""
    return services.create_rubric(document(template), family=services.new_family(template.key),
                                  audit_action="rubric_created", audit_details={"template": template.key})


def load_all() -> list[tuple[Template, Rubric | None]]:
    """Create every template not yet loaded in the current district (family = the template
    key); (template, None) for those already there. Safe to run twice."""
    done = []
    for template in all_templates():
        exists = db.session.scalar(select(Rubric.id).where(Rubric.family == template.key))
        done.append((template, None if exists else services.create_rubric(
            document(template), family=template.key, audit_details={"template": template.key})))
    return done
