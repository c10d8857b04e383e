# Two commands for a fresh machine: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
PIP_INSTALL = $(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install install-audio demo demo-train test test-slow bench clean

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

# The main job: music from sentences with the bundled model (no training; well under a minute on 2 cores).
demo: install
	$(PYTHON) -m tunesmith generate "a slow, sad chorale in D minor for strings, 16 bars" --out runs/demo --name chorale
	$(PYTHON) -m tunesmith generate "compose a piano piece in the style of Chopin" --out runs/demo --name chopin

# The whole pipeline on the bundled Bach chorales: data, a model trained for 7 minutes, a new chorale.
demo-train: install
	$(PYTHON) -m tunesmith demo

test: install
	$(PYTHON) -m pytest -q

test-slow: install
	$(PYTHON) -m pytest -q -m slow

clean:
	rm -rf runs .installed .installed-audio .pytest_cache
