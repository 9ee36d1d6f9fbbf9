.PHONY: setup run test bench
setup:
	scripts/setup
run:        ## the game on the embedded default, http://127.0.0.1:8000
	scripts/run
test:       ## the whole test suite (both configurations)
	scripts/test
bench:      ## simulator benchmark
	scripts/setup && .venv/bin/python -m sim bench
