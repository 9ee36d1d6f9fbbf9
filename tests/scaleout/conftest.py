"""Scale-out fixtures: each test gets its own PostgreSQL database (cloned from a migrated
template made once per session), its own Redis DB number + channel prefix, and a `Stack` whose
processes (daphne, run_engine, redis-server) are all stopped, and whose keys are deleted, at the
end of the test."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stack import Database, Stack, redis_url_with_db  # noqa: E402

REDIS_DB = 12  # the other suites use 1 and 2; channel keys are prefixed per test as well


@pytest.fixture(scope="session")
def template_db(postgres_url: str, tmp_path_factory: pytest.TempPathFactory):
    """A migrated database to clone: `migrate` runs once, not once per test."""
    db = Database(postgres_url).create()
    try:
        Stack(db.url, redis_url_with_db("redis://127.0.0.1:6379/0", REDIS_DB),
              workdir=tmp_path_factory.mktemp("template")).migrate()
        yield db
    finally:
        db.drop()


@pytest.fixture
def database(template_db: Database):
    db = Database(template_db.admin_url)
    db._admin(f'CREATE DATABASE "{db.name}" TEMPLATE "{template_db.name}"')
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture
def stack_factory(database: Database, redis_url: str, tmp_path: Path):
    """make(redis_url=None, tick_seconds=1.0) -> Stack; every stack made is stopped after."""
    made: list[Stack] = []

    def make(redis: str | None = None, tick_seconds: float = 1.0) -> Stack:
        # SCALEOUT_SETTINGS=<module> runs the same tests on another settings module.
        stack = Stack(database.url, redis or redis_url_with_db(redis_url, REDIS_DB),
                      workdir=tmp_path / f"stack{len(made)}", tick_seconds=tick_seconds,
                      settings=os.environ.get("SCALEOUT_SETTINGS") or None)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        try:
            stack.stop_all()
        except Exception:  # a Redis that a test stopped on purpose: the processes still stop
            for proc in stack.procs:
                proc.kill()
