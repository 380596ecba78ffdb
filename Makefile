# gpu-train: two commands for a fresh Debian/Ubuntu machine with Swift.
#   make demo   installs what is missing, builds, trains and evaluates on synthetic flows
#   make test   installs what is missing, runs the whole test suite
SWIFT      ?= swift
PACKAGES   := ocl-icd-opencl-dev opencl-headers libopenblas-dev pocl-opencl-icd clinfo
BIN        := .build/release/gpu-train
DATA       ?=
OUT        ?= demo-out

.PHONY: deps build test demo bench bench-compare clean

# Installs the system packages that are missing (as root), or prints the exact command.
deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build -c release --product gpu-train

test: deps
	$(SWIFT) test

demo: build
	@scripts/demo.sh "$(BIN)" "$(OUT)" "$(DATA)"

# Reference frameworks (bench/reference/requirements.txt) in their own venv, made once.
BENCH_VENV     ?= .venv-bench
BENCH_OUT      ?= .build/bench
PYTHON         ?= python3
# e.g. BENCH_PIP_ARGS=--extra-index-url=https://download.pytorch.org/whl/cpu for the CPU-only torch
BENCH_PIP_ARGS ?=

$(BENCH_VENV)/.installed: bench/reference/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install $(BENCH_PIP_ARGS) -r bench/reference/requirements.txt
	touch $@

# gpu-train bench alone.
bench: build
	$(BIN) bench --backend all

# gpu-train bench, then the PyTorch and TensorFlow references, one after another (they share
# the CPUs, so never in parallel), then one table with ratios.
bench-compare: build $(BENCH_VENV)/.installed
	@mkdir -p $(BENCH_OUT)
	$(BIN) bench --backend all --json $(BENCH_OUT)/gpu-train.json
	$(BENCH_VENV)/bin/python bench/reference/torch_bench.py --json $(BENCH_OUT)/pytorch.json
	$(BENCH_VENV)/bin/python bench/reference/tf_bench.py --json $(BENCH_OUT)/tensorflow.json
	$(PYTHON) bench/compare.py $(BENCH_OUT)/gpu-train.json $(BENCH_OUT)/pytorch.json $(BENCH_OUT)/tensorflow.json

clean:
	rm -rf .build $(OUT)
