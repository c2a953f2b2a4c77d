"""Artifact files: written to a temporary name in the target folder, fsynced, then
``os.replace``d into place, and only then recorded in ``artifact`` (in the caller's
transaction). A worker killed half way leaves at most a ``.part`` file that nothing
points at; it is cleared by the next write in that folder once it is an hour old."""
from __future__ import annotations

import hashlib
import os
import re
import time
import uuid

from flask import current_app
from sqlalchemy import select

from app.compilation.models import Artifact
from app.extensions import db

PART_SUFFIX = ".part"
STALE_PART_SECONDS = 3600
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def root() -> str:
    folder = (current_app.config.get("ARTIFACT_FOLDER") or os.environ.get("ARTIFACT_FOLDER")
              or os.path.join(current_app.instance_path, "artifacts"))
    os.makedirs(folder, exist_ok=True)
    return folder


def absolute(artifact: Artifact) -> str:
    base = os.path.realpath(root())
    path = os.path.realpath(os.path.join(base, artifact.path))
    if not path.startswith(base + os.sep):
        raise ValueError("artifact path outside the artifact folder")
    return path


def exists(artifact: Artifact | None) -> bool:
    if artifact is None:
        return False
    try:
        return os.path.isfile(absolute(artifact))
    except ValueError:
        return False


def _hold_for_tests(tmp_path: str) -> None:
    """Test hook (reliability tests kill a worker here): while the file named by
    JIANJIA_TEST_HOLD_FILE exists, wait with the half-written temporary file open."""
    hold = os.environ.get("JIANJIA_TEST_HOLD_FILE")
    if not hold:
        return
    with open(hold + ".reached.tmp", "w") as marker:
        marker.write(f"{os.getpid()}\n{tmp_path}")  # the process writing (an RQ work horse)
    os.replace(hold + ".reached.tmp", hold + ".reached")
    deadline = time.monotonic() + 120
    while os.path.exists(hold) and time.monotonic() < deadline:
        time.sleep(0.05)


def _clear_stale_parts(folder: str) -> None:
    now = time.time()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(PART_SUFFIX):
            path = os.path.join(folder, name)
            try:
                if now - os.path.getmtime(path) > STALE_PART_SECONDS:
                    os.remove(path)
            except OSError:
                pass


def write_atomic(relative: str, data: bytes) -> tuple[int, str]:
    """Write ``data`` to ``root()/relative`` all or nothing; (size, sha256)."""
    final = os.path.join(root(), relative)
    folder = os.path.dirname(final)
    os.makedirs(folder, exist_ok=True)
    _clear_stale_parts(folder)
    tmp = os.path.join(folder, f".{os.path.basename(final)}.{uuid.uuid4().hex}{PART_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            half = len(data) // 2
            handle.write(data[:half])
            handle.flush()
            _hold_for_tests(tmp)
            handle.write(data[half:])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return len(data), hashlib.sha256(data).hexdigest()


def find(kind: str, subject: str, fingerprint: str | None = None) -> Artifact | None:
    """The artifact of ``kind``/``subject`` (with that fingerprint, or the newest)."""
    stmt = select(Artifact).where(Artifact.kind == kind, Artifact.subject == subject)
    if fingerprint is not None:
        stmt = stmt.where(Artifact.fingerprint == fingerprint)
    return db.session.scalar(stmt.order_by(Artifact.created_at.desc(), Artifact.id.desc()).limit(1))


def store(kind: str, subject: str, fingerprint: str, data: bytes, *, filename: str, extension: str,
          school_id: int | None = None, run_id: int | None = None, meta: dict | None = None) -> Artifact:
    """Put the file in place, then record it (flush only: the caller commits). Storing the
    same kind/subject/fingerprint again replaces the file and keeps one row."""
    existing = find(kind, subject, fingerprint)
    district_id = existing.district_id if existing else _scope_district()
    relative = os.path.join(str(district_id), kind, f"{_SAFE.sub('_', subject)}-{fingerprint[:16]}{extension}")
    size, digest = write_atomic(relative, data)
    artifact = existing or Artifact(kind=kind, subject=subject, fingerprint=fingerprint, school_id=school_id)
    artifact.path, artifact.filename, artifact.size, artifact.sha256 = relative, filename, size, digest
    artifact.run_id, artifact.meta = run_id, meta or {}
    if existing is None:
        db.session.add(artifact)
    db.session.flush()
    return artifact


def _scope_district() -> int:
    from tenants.scope import current_scope

    scope = current_scope()
    if scope is None or scope.district_id is None:
        raise RuntimeError("storing an artifact needs a district scope")
    return scope.district_id


def read(artifact: Artifact) -> bytes:
    with open(absolute(artifact), "rb") as handle:
        return handle.read()
