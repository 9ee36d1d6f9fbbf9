.PHONY: setup run lint test test-fast ticktime
# The fast lane: no browser, Redis, PostgreSQL, or slow (long, multi-process) test.
FAST = not browser and not redis and not postgres and not slow

setup:
	scripts/setup
run:        ## the game on the embedded default, http://127.0.0.1:8000
	scripts/run
lint:       ## ruff (pyflakes, bugbear, imports, complexity) and mypy: pyproject.toml
	scripts/setup
	.venv/bin/ruff check .
	.venv/bin/mypy
test:       ## the whole test suite (both configurations, and the client's reducer in Node)
	scripts/test
test-fast:  ## the tests that need no service and run in well under a minute
	scripts/test --fast
ticktime:   ## what one simulator tick costs, fast path vs exact (the stack's load benchmark: python -m bench)
	scripts/setup && .venv/bin/python -m sim ticktime
