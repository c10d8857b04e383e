# Two commands for a fresh machine: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
PIP_INSTALL = $(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install demo test test-slow bench clean

install: .installed
.installed: pyproject.toml constraints.txt
	$(PIP_INSTALL) -e ".[dev]"
	@touch .installed

demo: install
	$(PYTHON) -m tunesmith demo

test: install
	$(PYTHON) -m pytest -q

test-slow: install
	$(PYTHON) -m pytest -q -m slow

clean:
	rm -rf runs .installed .pytest_cache
