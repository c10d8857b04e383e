# Two commands for a fresh machine: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
PIP_INSTALL = $(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install install-audio demo test test-slow bench clean

install: .installed
.installed: pyproject.toml constraints.txt
	$(PIP_INSTALL) -e ".[dev]"
	@touch .installed

# The audio extra without TensorFlow: basic-pitch's light dependencies and onnxruntime, then
# basic-pitch itself with --no-deps (its metadata pulls TensorFlow 2.15 on Linux, Python >= 3.11).
BASIC_PITCH = basic-pitch==0.4.0
install-audio: .installed-audio
.installed-audio: .installed
	$(PIP_INSTALL) -e ".[dev,audio]"
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps "$(BASIC_PITCH)"
	$(PYTHON) -c "from tunesmith.transcribe import check_audio_extra; print(check_audio_extra())"
	@touch .installed-audio

demo: install
	$(PYTHON) -m tunesmith demo

test: install
	$(PYTHON) -m pytest -q

test-slow: install
	$(PYTHON) -m pytest -q -m slow

clean:
	rm -rf runs .installed .installed-audio .pytest_cache
