# cli_node.mk: the command line (cli.cpp) for Node.js, once per wasm build, included by Makefile.
#
#   build/node/wasmlm-cli-{simd,mt,scalar,debug,relaxed,relaxed-mt}.js (+ .wasm; mt: + .worker.js)
#   node build/node/wasmlm-cli-relaxed.js info MODEL.gguf
#
# The native CLI's own source, linked with each build's engine objects (those the browser runs):
# one program for both runtimes. Files go through NODERAWFS (Node's fs, synchronously), so the
# GGUF is read straight into its wl_gguf_alloc region of wasm memory, above 2 GiB too. The memory
# settings are the browser builds' (WASM_LINK), so memory figures agree with the page's; and
# js/node_rawfs.js mends Emscripten 3.1.6's reads and writes of memory above 2 GiB. The
# threaded builds make their workers up front (a thread cannot start while main runs): as many as
# --threads asks for, read from the command line before main. The relaxed builds turn on Node.js
# 20's --experimental-wasm-relaxed-simd themselves (js/node_relaxed.js), and are finished like
# the page's (relaxed.mk: optimized by npm's binaryen, validated, deleted when invalid).

NODE_CLI := $(BUILD)/node
NODE_CLI_BUILDS := simd mt scalar debug relaxed relaxed-mt
NODE_CLI_LINK := -sALLOW_MEMORY_GROWTH=1 -sMEMORY_GROWTH_GEOMETRIC_CAP=1MB -sTOTAL_STACK=1MB -sMAXIMUM_MEMORY=4GB \
    $(NODE_RAWFS) -sEXIT_RUNTIME=1 -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0
# --threads N: N - 1 workers besides the main thread (at least one), as engine.js asks for
NODE_CLI_POOL := -sPTHREAD_POOL_SIZE='Math.max(1,(process.argv[process.argv.indexOf("--threads")+1]|0)-1)'
node_cli_threads = $(if $(findstring -pthread,$(1)),$(filter-out -sPTHREAD_POOL_SIZE=%,$(1)) $(NODE_CLI_POOL),$(1))

# node_cli_build(name, base build, engine objects, link flags, finish command)
define node_cli_build
$(NODE_CLI)/wasmlm-cli-$(1).js: $(WASM)/obj/$(2)/cli.o $(3) Makefile cli_node.mk relaxed.mk js/node_rawfs.js \
    $(if $(5),js/node_relaxed.js)
	@mkdir -p $$(@D)
	$(EMCXX) $(call node_cli_threads,$(4)) $(NODE_CLI_LINK) $(if $(5),--pre-js js/node_relaxed.js) -o $$@ \
	    $$(filter %.o,$$^) || { rm -f $$(@:.js=.wasm); exit 1; }
	$(5)
endef
$(foreach b,$(WASM_BUILDS),$(eval $(call node_cli_build,$(b),$(b),$(call objects_for,$(WASM)/obj/$(b)),\
    $(WASM_CFLAGS_$(b)) $(WASM_LFLAGS_$(b)),)))
$(eval $(call node_cli_build,relaxed,simd,$(call relaxed_objects,relaxed,simd),$(RELAXED_LINK),\
    $$(call relaxed_finish,$$(@:.js=.wasm))))
$(eval $(call node_cli_build,relaxed-mt,mt,$(call relaxed_objects,relaxed-mt,mt),$(RELAXED_LINK) $(WASM_LFLAGS_mt),\
    $$(call relaxed_finish,$$(@:.js=.wasm))))
$(NODE_CLI)/wasmlm-cli-relaxed.js $(NODE_CLI)/wasmlm-cli-relaxed-mt.js: | $(NPM_BIN)/wasm-opt $(NPM_BIN)/wasm-validate

NODE_CLI_OUTPUTS := $(NODE_CLI_BUILDS:%=$(NODE_CLI)/wasmlm-cli-%.js)
.PHONY: node-cli
node-cli: $(NODE_CLI_OUTPUTS)
