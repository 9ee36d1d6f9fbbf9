"""What the first start of a server writes, done by the entry points (manage.py, game/asgi.py)
before Django reads its settings, so that importing game/settings.py writes nothing.

- VAR_DIR: the SQLite file and the debrief cache live there;
- STATIC_ROOT: whitenoise warns at every start when it is missing;
- without DJANGO_SECRET_KEY, a generated key kept in VAR_DIR/secret_key (mode 0600), the same for
  every process that starts on this VAR_DIR.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    return Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def static_root() -> Path:
    return BASE_DIR / "staticfiles"


def secret_key_path() -> Path:
    return var_dir() / "secret_key"


def make_dirs() -> None:
    var_dir().mkdir(parents=True, exist_ok=True, mode=0o700)  # the secret key, the database
    try:
        var_dir().chmod(0o700)  # also an existing one: only this user may read VAR_DIR
    except OSError:
        pass  # not ours (a shared mount): the files' own modes still apply
    static_root().mkdir(exist_ok=True)
    if not os.environ.get("DATABASE_URL"):
        private_file(Path(os.environ.get("SQLITE_PATH") or var_dir() / "db.sqlite3"))


def private_file(path: Path) -> None:
    """Create `path` readable by this user only, or make it so (SQLite creates its -wal and
    -shm files with the database file's mode): it holds the session keys."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for sibling in (path, path.with_name(path.name + "-wal"),
                        path.with_name(path.name + "-shm")):
            if sibling.exists():
                sibling.chmod(0o600)
    except OSError:
        pass


def prepare() -> None:
    """Make the directories and, unless DJANGO_SECRET_KEY is set, the secret key file."""
    make_dirs()
    if os.environ.get("DJANGO_SECRET_KEY", "").strip():
        return
    path = secret_key_path()
    if path.exists():
        return
    # Written whole under a private name, then linked into place: a process starting at the same
    # moment sees either no file or the whole key, and the first link wins for everyone.
    draft = path.with_name(f".secret_key-{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(50))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
