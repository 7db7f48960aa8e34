# Set-up paths install torch==2.13.0 (CPU build) first, so no multi-GB CUDA build is pulled.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_RUN ?= runs/ring8-demo

.PHONY: venv demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,tensorboard]'
	touch $@

venv: $(VENV)/.installed

# The main job: the 8-Gaussian ring with the best loss, its picture and its mode metrics (~1 min).
demo: venv
	rm -rf $(DEMO_RUN)
	$(VENV)/bin/gankit train configs/ring8-demo.yaml --run-dir $(DEMO_RUN)
	$(VENV)/bin/gankit eval $(DEMO_RUN) --metrics modes
	@echo "samples over the true modes: $(DEMO_RUN)/samples/final.png"

test: venv
	$(PY) -m pytest -q
	$(VENV)/bin/ruff check src tests benchmarks

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
