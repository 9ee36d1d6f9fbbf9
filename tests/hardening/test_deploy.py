"""The production settings pass `manage.py check --deploy` with the HTTPS environment docs/deploy.md
lists, and secrets come only from the environment."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k3Y-" + "x7Q9-vT2m-Lp8R-zW4n-" * 4  # long and varied: passes security.W009

PRODUCTION = {
    "DJANGO_SECRET_KEY": SECRET, "DEBUG": "false", "ALLOWED_HOSTS": "game.example.edu",
    "SECURE_COOKIES": "true", "SECURE_SSL_REDIRECT": "true", "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true", "SECURE_HSTS_PRELOAD": "true",
    "TRUST_X_FORWARDED_PROTO": "true",
}


def _manage(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DJANGO_"))
            and k not in ("DEBUG", "ALLOWED_HOSTS", "REDIS_URL", "DATABASE_URL")}
    base.update(DJANGO_SETTINGS_MODULE="game.settings", VAR_DIR=str(tmp), **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=120)


def documented_https_settings() -> dict[str, str]:
    """The environment block of the deployment guide's "Production" step 7 (the one with
    SECURE_SSL_REDIRECT), the secret key's placeholder filled in."""
    text = (ROOT / "docs/deploy.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", text, re.S)
                 if "SECURE_SSL_REDIRECT=" in b)
    env = {}
    for line in block.splitlines():
        name, _, value = line.split("#")[0].strip().partition("=")
        if name:
            env[name] = value.strip()
    assert env.pop("DJANGO_SECRET_KEY").startswith("<")
    return {**env, "DJANGO_SECRET_KEY": SECRET}


def test_check_deploy_is_clean_with_the_documented_https_settings(tmp_path: Path) -> None:
    env = documented_https_settings()
    assert {k: env[k] for k in PRODUCTION} == PRODUCTION  # every one of these is documented
    out = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == "System check identified no issues (0 silenced)."


def test_check_deploy_names_what_is_missing_without_it(tmp_path: Path) -> None:
    out = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING",
                  DJANGO_SECRET_KEY=SECRET)
    assert out.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in out.stdout + out.stderr, warning


def test_the_secret_key_comes_from_the_environment(tmp_path: Path) -> None:
    out = _manage(tmp_path, "shell", "-c",
                  "from django.conf import settings; print(settings.SECRET_KEY)",
                  DJANGO_SECRET_KEY=SECRET)
    assert out.stdout.strip().splitlines()[-1] == SECRET
    short = _manage(tmp_path, "check", DJANGO_SECRET_KEY="too-short")
    assert short.returncode != 0 and "DJANGO_SECRET_KEY" in short.stderr


def test_no_secret_is_written_in_the_code() -> None:
    pattern = re.compile(r"""(SECRET_KEY|PASSWORD|TOKEN)\s*=\s*["'][^"']{8,}["']""")
    for path in (ROOT / "game").rglob("*.py"):
        for line in path.read_text().splitlines():
            assert not pattern.search(line), f"{path}: {line.strip()}"
