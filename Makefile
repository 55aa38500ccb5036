# Thin driver over CMake; `make help` prints Makefile.help.
BUILD ?= build
JOBS  ?= $(shell nproc)
BIN   := $(BUILD)/bin
MAKEFLAGS += --no-print-directory

.PHONY: help deps configure build tools test test-sanitize test-slurm fuzz install demo clean bench
.DEFAULT_GOAL := help

help:
	@cat Makefile.help

deps:
	@scripts/install-deps.sh

# Ninja for a new build directory (an existing one keeps its generator).
generator = $(if $(wildcard $(1)/CMakeCache.txt),,-G Ninja)

configure: deps
	@cmake -S . -B $(BUILD) $(call generator,$(BUILD)) -DCMAKE_BUILD_TYPE=Release > /dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The unit and CLI tests built with AddressSanitizer and UBSan (own build dir).
SANITIZE_BUILD ?= build-sanitize
test-sanitize: deps
	@cmake -S . -B $(SANITIZE_BUILD) $(call generator,$(SANITIZE_BUILD)) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSDE_SANITIZE=ON > /dev/null
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	@cd $(SANITIZE_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer on each reader of untrusted input (tests/fuzz), FUZZ_SECONDS each,
# from the seed corpora in tests/fuzz/corpus; findings are left as crash-* files.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZERS := npy mixture model csv
fuzz:
	@scripts/install-deps.sh --fuzz
	@CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(call generator,$(FUZZ_BUILD)) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSDE_FUZZ=ON > /dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZERS))
	@for f in $(FUZZERS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$f && echo "== fuzz_$$f, $(FUZZ_SECONDS) s" && \
	  $(FUZZ_BUILD)/bin/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -malloc_limit_mb=1024 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus/$$f tests/fuzz/corpus/$$f \
	    > $(FUZZ_BUILD)/fuzz_$$f.log 2>&1; rc=$$?; \
	  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|Done)" $(FUZZ_BUILD)/fuzz_$$f.log; \
	  [ $$rc -eq 0 ] || { echo "fuzz_$$f found a problem: $(FUZZ_BUILD)/fuzz_$$f.log"; exit 1; }; \
	done

# The tools, their man pages and bash completions, the data specs, figure
# recipes and the numpy model reader, under PREFIX (cmake --install).
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

# The README's Slurm recipe for real: a one-node cluster started here (as
# root), a job array of sde-sample --shard tasks on alternating kernels, the
# joined parts compared with the unsharded run. Seconds, after the install.
test-slurm: tools
	@scripts/install-deps.sh --slurm
	@SDE_BIN=$(BIN) bash tests/slurm/job_array.sh

# The executables alone: what the demo, the figures and the benchmarks run.
TOOLS := sde-perturb sde-train sde-sample sde-likelihood sde-langevin sde-score sde-npy sde-plot
tools: configure
	@cmake --build $(BUILD) -j $(JOBS) --target $(TOOLS)

demo: tools
	@SDE_BIN=$(BIN) bash data/demo.sh

# Every figure recipe in data/figures at full size (a few minutes), PNGs in
# $(FIGURES); `make figures QUICK=1` runs the reduced sizes of the CI test.
FIGURES ?= out/figures
.PHONY: figures
figures: tools
	@rm -rf $(FIGURES)/work
	@for recipe in data/figures/[0-9]*.sh; do \
	  echo "== $$recipe"; SDE_BIN=$(BIN) OUT=$(FIGURES) bash $$recipe || exit 1; \
	done
	@echo "figures in $(FIGURES)"

# Benchmarks against the PyTorch peer (bench/run.py), not part of `make test`.
# Own build dir with -DSDE_BENCH=ON; BENCH_ARGS=--quick for a seconds-long smoke test.
BENCH_BUILD ?= build-bench
BENCH_ARGS  ?= --scaling
BENCH_AVX2_ARGS ?=
bench:
	@scripts/install-deps.sh --bench
	@cmake -S . -B $(BENCH_BUILD) $(call generator,$(BENCH_BUILD)) -DCMAKE_BUILD_TYPE=Release -DSDE_BENCH=ON > /dev/null
	@cmake --build $(BENCH_BUILD) -j $(JOBS) --target $(TOOLS) bench_net
	@/usr/bin/python3 bench/run.py --bin $(BENCH_BUILD)/bin $(BENCH_ARGS)
	@# On an AVX-512 machine the AVX2 kernel too (what an AVX2 node runs), in bench/avx2/.
	@if grep -qw avx512f /proc/cpuinfo; then \
	  SDE_ISA=avx2 /usr/bin/python3 bench/run.py --bin $(BENCH_BUILD)/bin $(BENCH_AVX2_ARGS) --out bench/avx2; fi

clean:
	rm -rf $(BUILD) out
