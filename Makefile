# gpu-train: two commands for a fresh Debian/Ubuntu machine with Swift.
#   make demo   installs what is missing, builds, trains and evaluates on synthetic flows
#   make test   installs what is missing, runs the whole test suite
#   make lab    real traffic on loopback with per-flow truth: services, benign clients, six attacks,
#               captured, metered, labelled, trained on and scored (root; scripts/lab/)
SWIFT      ?= swift
PACKAGES   := ocl-icd-opencl-dev opencl-headers libopenblas-dev pocl-opencl-icd clinfo libpcap-dev
BIN        := .build/release/gpu-train
DATA       ?=
ROLES      ?=
OUT        ?= demo-out
# What make lab runs (and make test, for its short lab run, when root): the services, the clients
# and attack tools, the capture. dnsmasq-base is the daemon without a system service of its own.
LAB_PACKAGES := nginx openssh-server openssh-client redis-server dnsmasq-base nmap hydra tcpdump \
                slowhttptest curl python3 dnsutils socat
LAB_SECONDS ?= 240
LAB_SEED    ?= 1
LAB_OUT     ?= lab-out
LAB_TRAIN_ARGS ?=

.PHONY: deps lab-deps build test demo lab lab-test bench bench-compare bench-meter bench-detector bench-before-after bench-kernels bench-nn bench-conv-split bench-test clean

# Installs the packages of list $(1) that are missing (as root), or prints the exact command and,
# unless $(2) is "optional", stops.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    [ "$(2)" = optional ] || exit 1; \
	  fi; \
	fi
endef

# Installs the system packages that are missing (as root), or prints the exact command.
deps:
	$(call install_missing,$(PACKAGES))

# The lab's packages: required by make lab; make test installs them when root (its lab test runs
# only as root, and skips with a message otherwise).
lab-deps:
	$(call install_missing,$(LAB_PACKAGES),$(if $(filter lab,$(MAKECMDGOALS)),,optional))

build: deps
	$(SWIFT) build -c release --product gpu-train

# The tests of the C kernels' paths (direct and Winograd convolutions, distances, Adam, the
# conformance suite, training), run a second time with the kernels forced down to AVX2: on an
# AVX-512 machine the first pass took the AVX-512 paths, so both are tested (about a minute).
ISA_TESTS := CPUISATests|ConformanceTests|ConvPoolTests|DirectConvTests|ForwardTests|GradientCheckTests|InferenceBatchTests|NearestNeighborTests|NeighborFastPathTests|TrainerTests|DivergenceTests|NonFiniteTensorTests|TorchReferenceTests|BaselineRecipeTests

test: deps lab-deps
	$(SWIFT) test
	GPU_TRAIN_CPU_ISA=avx2 $(SWIFT) test --skip-build --filter '$(ISA_TESTS)'

demo: build
	@scripts/demo.sh "$(BIN)" "$(OUT)" "$(DATA)" "$(ROLES)"

# Real traffic on loopback (127.0.0.0/8 only), bounded in time: LAB_SECONDS of traffic (half a
# benign baseline, half drifted benign traffic with six attacks), seed LAB_SEED, results in
# LAB_OUT/report.md; LAB_TRAIN_ARGS go to gpu-train train (for example --window-features on).
lab: build lab-deps
	@scripts/lab/lab.sh "$(BIN)" "$(LAB_OUT)" "$(LAB_SECONDS)" "$(LAB_SEED)" $(LAB_TRAIN_ARGS)

# The lab scripts' own unit tests (standard library only; also run by LabCLITests).
lab-test:
	$(PYTHON) scripts/lab/test_lab.py

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

# gpu-train bench (the network's figures; the detector's are bench-detector's), PyTorch and
# TensorFlow in ROUNDS interleaved rounds (never in parallel: they share the CPUs; the order rotates
# per round), then medians and the ratio to the best reference within each round
# (bench/interleave.py). The round files stay in BENCH_OUT.
ROUNDS ?= 3
bench-compare: build $(BENCH_VENV)/.installed
	$(PYTHON) bench/interleave.py --rounds $(ROUNDS) --out $(BENCH_OUT) \
	  --run 'gpu-train=$(BIN) bench --backend all --parts network --json {json}' \
	  --run 'pytorch=$(BENCH_VENV)/bin/python bench/reference/torch_bench.py --json {json}' \
	  --run 'tensorflow=$(BENCH_VENV)/bin/python bench/reference/tf_bench.py --json {json}'

# The detector's path: gpu-train bench --detector-only (the CPU's fast search, its direct scan and
# OpenCL) against scikit-learn's brute-force NearestNeighbors and FAISS's IndexFlatL2
# (bench/reference/knn_bench.py) on the same banks and queries, written once to BENCH_OUT/detector-data,
# in ROUNDS interleaved rounds (about 20 minutes with ROUNDS=3 on 2 cores).
BANK_SIZES ?= 20000,100000,1000000
bench-detector: build $(BENCH_VENV)/.installed
	$(BIN) bench --bank-sizes $(BANK_SIZES) --detector-data $(BENCH_OUT)/detector-data
	$(PYTHON) bench/interleave.py --rounds $(ROUNDS) --out $(BENCH_OUT)/detector \
	  --run 'gpu-train=$(BIN) bench --detector-only --backend all --bank-sizes $(BANK_SIZES) --json {json}' \
	  --run 'scikit-learn=$(BENCH_VENV)/bin/python bench/reference/knn_bench.py --library sklearn --data $(BENCH_OUT)/detector-data --json {json}' \
	  --run 'faiss=$(BENCH_VENV)/bin/python bench/reference/knn_bench.py --library faiss --data $(BENCH_OUT)/detector-data --json {json}'

# Two gpu-train binaries, interleaved: make bench-before-after BEFORE=/path/to/old/gpu-train [ROUNDS=5]
# (build the old one from another checkout with `swift build -c release --scratch-path DIR`).
BEFORE ?=
bench-before-after: build
	@test -x "$(BEFORE)" || { echo "set BEFORE=/path/to/the/old/gpu-train"; exit 2; }
	$(PYTHON) bench/interleave.py --rounds $(ROUNDS) --out $(BENCH_OUT)/before-after --baseline before \
	  --run 'before=$(BEFORE) bench --backend cpu --json {json}' \
	  --run 'after=$(BIN) bench --backend cpu --json {json}'

# Single-thread rates of the C convolution kernels against im2col + OpenBLAS (thread CPU time).
CC ?= cc
bench-kernels:
	@mkdir -p .build
	$(CC) -O2 -ISources/CKernels/include bench/conv_kernels.c Sources/CKernels/*.c -lopenblas -lm -o .build/conv_kernels
	.build/conv_kernels

# Single-thread rates of the fast nearest-neighbour search (gt_nn_search) at each AVX level on the
# detector bench's banks (thread CPU time). Clang, as SwiftPM compiles the package (GCC -O2 builds
# these kernels about 40% slower).
NN_CC ?= clang
NN_QUERIES ?= 10000
bench-nn: build
	$(BIN) bench --bank-sizes 20000,100000 --detector-data $(BENCH_OUT)/detector-data
	$(NN_CC) -O3 -ISources/CKernels/include bench/nn_kernels.c Sources/CKernels/neighbors.c Sources/CKernels/distance.c Sources/CKernels/ckernels.c -lm -o .build/nn_kernels
	.build/nn_kernels $(BENCH_OUT)/detector-data/bank_20000.npy $(BENCH_OUT)/detector-data/queries.npy $(NN_QUERIES)
	.build/nn_kernels $(BENCH_OUT)/detector-data/bank_100000.npy $(BENCH_OUT)/detector-data/queries.npy $(NN_QUERIES)

# The filter gradient's image and channel thread splits, two threads, thread CPU time.
bench-conv-split:
	@mkdir -p .build
	$(CC) -O2 -ISources/CKernels/include bench/conv_split.c Sources/CKernels/*.c -lpthread -lm -o .build/conv_split
	.build/conv_split

# The interleaving logic's own tests (standard library only).
bench-test:
	$(PYTHON) bench/test_interleave.py

clean:
	rm -rf .build $(OUT) $(LAB_OUT)

# gpu-train's flow meter against the Python cicflowmeter 0.5.0 (Python 3.12 venv, made once) on a
# synthetic capture of METER_FLOWS concurrent flows (about 11 packets each), ROUNDS interleaved rounds.
METER_FLOWS  ?= 100000
METER_VENV   ?= .venv-meter
# The first Python 3.12 that runs (a pyenv shim may exist without the version selected).
PYTHON312    ?= $(shell for p in python3.12 $(wildcard /root/.pyenv/versions/3.12*/bin/python3.12) /usr/bin/python3.12; do \
                  $$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo $$p; break; }; done)
$(METER_VENV)/.installed:
	@test -n "$(PYTHON312)" || { echo "bench-meter needs Python 3.12 (cicflowmeter 0.5.x; on 3.11 pip installs 0.2.0): set PYTHON312=/path/to/python3.12"; exit 2; }
	$(PYTHON312) -m venv $(METER_VENV)
	$(METER_VENV)/bin/pip install cicflowmeter==0.5.0
	touch $@

bench-meter: build $(METER_VENV)/.installed
	mkdir -p $(BENCH_OUT)/meter
	$(PYTHON) scripts/make-bench-pcap.py --out $(BENCH_OUT)/meter/capture.pcap --flows $(METER_FLOWS)
	$(PYTHON) bench/meter_compare.py --pcap $(BENCH_OUT)/meter/capture.pcap --gpu-train $(BIN) \
	  --python $(METER_VENV)/bin/python --rounds $(ROUNDS) --out $(BENCH_OUT)/meter
