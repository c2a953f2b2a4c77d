"""argon2id password hashing (argon2-cffi defaults are argon2id; tests use cheaper costs)."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import gettext as _

_strong = PasswordHasher()
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

MIN_LENGTH = 8


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("PASSWORD_HASH_FAST"):
        return _fast
    return _strong


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Computed once so that an unknown username costs as much as a wrong password.
_DUMMY = None


def burn_time(password: str) -> None:
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password("not-a-real-password")
    verify_password(_DUMMY, password)


def password_problem(password: str, username: str = "") -> str | None:
    """A Chinese reason why the password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return _("密码至少需要 %(n)s 个字符", n=MIN_LENGTH)
    if len(password) > 128:
        return _("密码不能超过 128 个字符")
    if username and password.lower() == username.lower():
        return _("密码不能与用户名相同")
    if password.isdigit() and len(set(password)) <= 2:
        return _("密码过于简单")
    return None
