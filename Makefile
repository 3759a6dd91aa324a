# espnet2_ext: one command each to install, test and run the main job.
#   make install   .venv/ with the package (editable) and everything tests/recipes need
#   make test      install if needed, then the whole pytest suite
#   make demo      install if needed, then egs2/mini_an4/enh1 end to end
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Local copies of the corpora (the shared test data when present); an empty
# AN4_ROOT makes the recipe download CMU's an4_sphere.tar.gz instead.
SHARED_DATA := $(abspath $(CURDIR)/../shared/data)
AN4_ROOT ?= $(if $(wildcard $(SHARED_DATA)/an4/etc),$(SHARED_DATA)/an4,)
NOISE_DIR ?= $(if $(wildcard $(SHARED_DATA)/noise/speech_commands),$(SHARED_DATA)/noise/speech_commands,)
PYTEST_ARGS ?=

.PHONY: install test demo clean

install: $(STAMP)

$(STAMP): setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# pip 26.3 refuses espnet (a direct-URL dependency of ci_sdr)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip<26.3"
	$(PY) -m pip install --disable-pip-version-check -e ".[all]"
	@touch $(STAMP)

test: install
	$(PY) -m pytest test $(PYTEST_ARGS)

demo: install
	@test -x egs2/mini_an4/enh1/run.sh || { echo "make demo: egs2/mini_an4/enh1/run.sh does not exist yet (the mini recipe is not built)" >&2; exit 1; }
	cd egs2/mini_an4/enh1 && ./run.sh $(if $(AN4_ROOT),--an4_root $(AN4_ROOT)) $(if $(NOISE_DIR),--noise_dir $(NOISE_DIR))

clean:
	rm -rf $(VENV) *.egg-info
