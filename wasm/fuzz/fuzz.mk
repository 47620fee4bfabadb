# libFuzzer targets over the native engine (included by wasm/Makefile; docs/fuzzing.md).
#
#   make -C wasm fuzz FUZZ_SECONDS=60   build every fuzz/fuzz_*.cpp with clang-19 (libFuzzer + ASan +
#                                       UBSan) and run each for FUZZ_SECONDS on fresh seeds (fuzz/seeds.py),
#                                       the committed regressions and what earlier runs found (build/fuzz/)
#   make -C wasm fuzz-replay            each target once on every regression input and every seed, built
#                                       with the project's compiler under ASan + UBSan, no libFuzzer
#                                       (part of `make test`)
#
# A crash is saved under build/fuzz/crashes/<target>/; once fixed, its input goes to
# fuzz/regressions/<target>/ so that `make test` replays it from then on.

FUZZ_CXX ?= clang++-19
FUZZ_CC ?= clang-19
FUZZ_SECONDS ?= 60
PYTHON ?= $(ROOT)/.venv/bin/python
FUZZ := $(BUILD)/fuzz
FUZZ_TARGETS := $(notdir $(basename $(wildcard fuzz/fuzz_*.cpp)))
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS := -O1 -g $(NATIVE_ARCH) -ffp-contract=off -fno-omit-frame-pointer $(FUZZ_SANITIZE) \
    -fsanitize=fuzzer-no-link -pthread -MMD -MP
# Stack traces with file:line where an llvm-symbolizer is installed (emscripten brings one).
export ASAN_SYMBOLIZER_PATH ?= $(shell command -v llvm-symbolizer-19 || command -v llvm-symbolizer)
# libFuzzer options every run shares: memory over 2 GiB or a single input over 30 s (wall clock: a
# busy machine stretches it; the slowest input seen took 0.6 s of CPU) is a finding too.
FUZZ_RUN_FLAGS := -rss_limit_mb=2048 -timeout=30 -print_final_stats=1

.PHONY: fuzz fuzz-build fuzz-seeds fuzz-replay

$(FUZZ)/obj/%.o: %.cpp | $(BROTLI_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CXX) -std=c++17 $(FUZZ_FLAGS) $(WARNINGS) $(INCLUDES) -c $< -o $@
$(FUZZ)/obj/brotli/%.o: $(BROTLI)/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(INCLUDES) -c $< -o $@
$(FUZZ)/libwasmlm.a: $(call objects_for,$(FUZZ)/obj)
	rm -f $@ && ar rcs $@ $^
$(FUZZ)/fuzz_%: $(FUZZ)/obj/fuzz/fuzz_%.o $(FUZZ)/libwasmlm.a
	$(FUZZ_CXX) -fsanitize=fuzzer $(FUZZ_SANITIZE) -pthread -o $@ $^

fuzz-build: $(addprefix $(FUZZ)/,$(FUZZ_TARGETS))

fuzz-seeds:
	$(PYTHON) fuzz/seeds.py $(FUZZ)/seeds

# Each target in turn, from the repository root (the tokenizer target reads models/). New inputs go to
# build/fuzz/corpus/<target>/ and are kept for the next run; every target runs even if one fails.
fuzz: fuzz-build fuzz-seeds
	@cd $(ROOT) && status=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ)/corpus/$$t $(FUZZ)/crashes/$$t; echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  $(FUZZ)/$$t $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ)/crashes/$$t/ \
	    $(FUZZ)/corpus/$$t $(FUZZ)/seeds/$$t $$(ls -d $(CURDIR)/fuzz/regressions/$$t 2>/dev/null) 2>$(FUZZ)/$$t.log \
	    || { status=1; echo "FAILED: $$t (build/fuzz/$$t.log):"; tail -40 $(FUZZ)/$$t.log; }; \
	  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' $(FUZZ)/$$t.log || true; \
	done; exit $$status

# The replay programs: the same targets with fuzz/replay.cpp as main, g++ + ASan + UBSan.
$(NATIVE)/fuzz-replay/fuzz_%: $(NATIVE)/asan/fuzz/fuzz_%.o $(NATIVE)/asan/fuzz/replay.o $(NATIVE)/libwasmlm-asan.a
	@mkdir -p $(@D)
	$(CXX) -fsanitize=address,undefined -pthread -o $@ $^

fuzz-replay: $(addprefix $(NATIVE)/fuzz-replay/,$(FUZZ_TARGETS)) fuzz-seeds
	@cd $(ROOT) && status=0; for t in $(FUZZ_TARGETS); do echo "== replay $$t"; \
	  $(NATIVE)/fuzz-replay/$$t $(CURDIR)/fuzz/regressions/$$t $(FUZZ)/seeds/$$t 2>$(NATIVE)/fuzz-replay/$$t.log \
	    || { status=1; tail -30 $(NATIVE)/fuzz-replay/$$t.log; }; done; exit $$status
