# relaxed.mk: the relaxed-SIMD builds, included by Makefile.
#
#   build/wasm/wasmlm-relaxed.{js,wasm}      one thread
#   build/wasm/wasmlm-relaxed-mt.{js,wasm}   pthreads (+ .worker.js, .worker.cjs for Node.js)
#
# Debian 12's Emscripten (3.1.6, clang 14) cannot emit relaxed SIMD: clang 14's -mrelaxed-simd
# writes prototype opcodes that browsers reject. So only the kernel files (RELAXED_SRCS) are
# compiled by Debian's clang-19, through the same emcc (EM_CLANG_ADD_VERSION), and linked with the
# simd (or mt) build's other objects by emcc's wasm-ld 14, which copies the new opcodes through.
# Debian's binaryen 108 misreads those opcodes and would write an invalid module with emcc still
# exiting 0, so the link is at -O1 with -sERROR_ON_WASM_CHANGES_AFTER_LINK (binaryen must not
# touch the module; -sWASM_BIGINT so that no i64 legalization is needed: engine.js passes the
# sampler's seed as a BigInt to these builds). npm's binaryen 132 then optimizes it as -O3 does
# the other builds, and npm's wabt validates the result: an invalid module fails the build, and
# is deleted, instead of failing the page. (../shared/notes/toolchain.md, "Relaxed SIMD".)
#
# Only the relaxed builds run the code under __wasm_relaxed_simd__ (quants_impl.h): the same
# exact integer sums as the simd build, so every build keeps giving the same logits.

CLANG_RELAXED := 19
RELAXED_SRCS := quants_legacy.cpp quants_kquants.cpp
# clang-19's default wasm features are newer than what emcc 3.1.6 links; unused-function: the
# simd-only helpers beside the relaxed ones; fp-contract=off: clang-19 knows relaxed fused
# multiply-adds, which would change floats.
RELAXED_CFLAGS := -O3 -msimd128 -mrelaxed-simd -mno-reference-types -mno-multivalue -ffp-contract=off \
    -Wno-unused-function
RELAXED_LINK := -O1 -msimd128 -sWASM_BIGINT -sERROR_ON_WASM_CHANGES_AFTER_LINK
NPM_BIN := $(ROOT)/node_modules/.bin
WASM_OPT_RELAXED := $(NPM_BIN)/wasm-opt -O3 --enable-simd --enable-relaxed-simd --enable-sign-ext \
    --enable-mutable-globals --enable-bulk-memory --enable-threads
WASM_VALIDATE_RELAXED := $(NPM_BIN)/wasm-validate --enable-relaxed-simd --enable-threads
# Node.js 20 runs relaxed SIMD only behind this flag (the CLI's relaxed builds turn it on themselves: cli_node.mk).
NODE_RELAXED := --experimental-wasm-relaxed-simd

# relaxed_objects(build, base): base's objects with the kernel files' replaced by build's
relaxed_objects = $(filter-out $(RELAXED_SRCS:%.cpp=$(WASM)/obj/$(2)/%.o),$(call objects_for,$(WASM)/obj/$(2))) \
    $(RELAXED_SRCS:%.cpp=$(WASM)/obj/$(1)/%.o)

# relaxed_finish(wasm file): optimize, then validate; a module that fails either is deleted.
relaxed_finish = $(WASM_OPT_RELAXED) $(1) -o $(1).opt && mv $(1).opt $(1) && $(WASM_VALIDATE_RELAXED) $(1) \
    || { rm -f $(1) $(1).opt; echo "error: $(1) is not a valid relaxed-SIMD module" >&2; exit 1; }

# make -C wasm relaxed-check WASM_FILE=path: what the build does to each relaxed module (for tests)
.PHONY: relaxed-check
relaxed-check: | $(NPM_BIN)/wasm-opt $(NPM_BIN)/wasm-validate
	@$(call relaxed_finish,$(abspath $(WASM_FILE)))

$(NPM_BIN)/wasm-opt $(NPM_BIN)/wasm-validate:
	@echo "error: $@ is missing: run npm ci in $(ROOT) (scripts/dev.sh setup does)" >&2; exit 1

# relaxed_build(name, base build, extra compile flags)
define relaxed_build
$(WASM)/obj/$(1)/%.o: %.cpp | $(BROTLI_STAMP)
	@mkdir -p $$(@D)
	EM_CLANG_ADD_VERSION=$(CLANG_RELAXED) $(EMCXX) -std=c++17 $(WARNINGS) $(RELAXED_CFLAGS) $(3) -MMD -MP \
	    $(INCLUDES) -c $$< -o $$@
$(WASM)/wasmlm-$(1).js: $(call relaxed_objects,$(1),$(2)) $(WASM)/exports.txt Makefile relaxed.mk \
    | $(NPM_BIN)/wasm-opt $(NPM_BIN)/wasm-validate
	$(EMCXX) $(RELAXED_LINK) $(WASM_LFLAGS_$(2)) $(WASM_LINK) -o $$@ $$(filter %.o,$$^) \
	    || { rm -f $$(@:.js=.wasm); exit 1; }
	$$(call relaxed_finish,$$(@:.js=.wasm))
endef
$(eval $(call relaxed_build,relaxed,simd,))
$(eval $(call relaxed_build,relaxed-mt,mt,-pthread))

$(WASM)/wasmlm-relaxed-mt.worker.cjs: $(WASM)/wasmlm-relaxed-mt.js
	cp $(WASM)/wasmlm-relaxed-mt.worker.js $@

RELAXED_OUTPUTS := $(WASM)/wasmlm-relaxed.js $(WASM)/wasmlm-relaxed-mt.js $(WASM)/wasmlm-relaxed-mt.worker.cjs

# ---- tests: the kernels on the relaxed library, under Node.js in V8's three tiering modes (its
# baseline tier, Liftoff, computed i32x4.relaxed_dot_i8x16_i7x16_add wrongly: every mode must agree)
RELAXED_TIERS := --liftoff-only --no-liftoff default
RELAXED_TEST_LINK := $(RELAXED_LINK) -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB $(NODE_RAWFS) -sEXIT_RUNTIME=1 \
    -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0

$(WASM)/obj/relaxed/libwasmlm.a: $(call relaxed_objects,relaxed,simd)
	rm -f $@ && $(EMAR) rcs $@ $^
$(WASM_TESTS)/relaxed/%.js: $(WASM)/obj/simd/tests/%.o $(WASM)/obj/relaxed/libwasmlm.a js/node_rawfs.js \
    | $(NPM_BIN)/wasm-validate
	@mkdir -p $(@D)
	$(EMCXX) $(RELAXED_TEST_LINK) -o $@ $(filter %.o %.a,$^) || { rm -f $(@:.js=.wasm); exit 1; }
	$(WASM_VALIDATE_RELAXED) $(@:.js=.wasm) || { rm -f $@ $(@:.js=.wasm); exit 1; }

.PHONY: test-relaxed
test-relaxed: $(WASM_TESTS)/relaxed/test_kernels.js
	@cd $(ROOT) && status=0; for tier in $(RELAXED_TIERS); do \
	    flags="$(NODE_RELAXED) $$([ $$tier = default ] || echo $$tier)"; \
	    echo "== relaxed test_kernels, node $$flags"; \
	    $(NODE) $$flags $< || status=1; \
	done; exit $$status
