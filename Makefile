# mistralai rock: build, test, demo, local server.
# LUA selects the interpreter the core is built for: lua5.4 (default), lua5.3, lua5.2, lua5.1, luajit.
LUA        ?= lua5.4
LUA_PC     := $(if $(filter luajit,$(LUA)),luajit,$(LUA))
LUA_CFLAGS ?= $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null)
# libcurl from pkg-config, or from CURL_DIR (its include/ and lib/), or CURL_INCDIR and
# CURL_LIBDIR, as luarocks names them.
ifdef CURL_DIR
CURL_INCDIR ?= $(CURL_DIR)/include
CURL_LIBDIR ?= $(CURL_DIR)/lib
endif
ifdef CURL_INCDIR
CURL_CFLAGS ?= -I$(CURL_INCDIR)
endif
ifdef CURL_LIBDIR
CURL_LIBS ?= -L$(CURL_LIBDIR) -lcurl
endif
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS  ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       ?= -Wall -Wextra -Werror
UNAME_S    := $(shell uname -s)
ifeq ($(UNAME_S),Darwin)
# a Lua module on macOS: a bundle whose Lua symbols the host interpreter provides
LIBFLAG    ?= -bundle -undefined dynamic_lookup
else
LIBFLAG    ?= -shared
endif
BUILD      := build/$(LUA)
CORE       := $(BUILD)/mistralai/core.so
SRCS       := $(wildcard csrc/*.c)
HDRS       := $(wildcard csrc/*.h)
PREFIX     ?= /usr/local
LUA_VER    := $(if $(filter luajit,$(LUA)),5.1,$(patsubst lua%,%,$(LUA)))
INST_LUADIR ?= $(PREFIX)/share/lua/$(LUA_VER)
INST_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_VER)
PORT       ?= 8080

.PHONY: all deps clang-deps valgrind-deps test test-all lint demo server install clean check-memory check-asan test-gc fuzz bench \
  rockspec dist nvim bench-waiting

# The release. The version is written once, in lua/mistralai/version.lua. REPO_URL is the git
# repository luarocks fetches a release's tag (and the dev rockspec's main branch) from:
# `make rockspec` writes both into the rockspecs, `make dist` packs the source rock from the
# working tree, offline, into DIST_DIR.
VERSION    := $(shell sed -n 's/^return "\(.*\)"$$/\1/p' lua/mistralai/version.lua)
REPO_URL   ?= git+https://github.com/mistralai-lua/mistralai-lua.git
ROCKSPEC   := mistralai-$(VERSION)-1.rockspec
SRC_ROCK   := mistralai-$(VERSION)-1.src.rock
ROCKSPEC_DIR ?= .
DIST_DIR   ?= .
# luarocks unpacks a git source into a folder named after the repository: the rock holds the same
SRC_DIR    := $(basename $(notdir $(REPO_URL)))

ALL_LUAS := lua5.1 lua5.2 lua5.3 lua5.4 luajit
ALL_LUA_PACKAGES := lua5.1 liblua5.1-0-dev lua5.2 liblua5.2-dev lua5.3 liblua5.3-dev luajit2 libluajit2-5.1-dev

# What the slow runs (valgrind, ASan) leave out: the specs whose point is a time or a memory
# figure: the soak (#soak), the 300 MiB round trip (#big), the host responsiveness measures
# (#timing). Everything else runs there, error paths included.
SLOW_TAGS  := soak,big,timing
VALGRIND   := valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --suppressions=valgrind.supp --trace-children=no
# The sanitizer and fuzzer toolchain: Debian 12's clang, and its runtime for this machine.
CLANG_VERSION ?= 14
CLANG      ?= clang-$(CLANG_VERSION)
CLANG_PACKAGES := clang-$(CLANG_VERSION) libclang-rt-$(CLANG_VERSION)-dev
ARCH       ?= $(shell uname -m)
ASAN_LIB    = $(shell $(CLANG) -print-file-name=libclang_rt.asan-$(ARCH).so)
ASAN_BUILD := build/asan

all: $(CORE)

$(CORE): $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fPIC $(LUA_CFLAGS) $(CURL_CFLAGS) $(SRCS) $(LIBFLAG) -o $@ $(CURL_LIBS)

# The core for Neovim's LuaJIT, in the plugin's own lua/ folder: what a plugin manager's build
# step runs (lazy.nvim runs build.lua, which runs this).
nvim:
	$(MAKE) --no-print-directory LUA=luajit all
	cp build/luajit/mistralai/core.so lua/mistralai/core.so

# Installs what is missing (Debian packages), once.
deps:
	@scripts/install-deps

# Packages only some targets need. They are prerequisites, not recipe lines: make expands a
# whole recipe (ASAN_LIB's $(shell clang ...)) before running its first line, so a package a
# recipe line installs comes too late for it on a fresh machine.
clang-deps:
	@EXTRA_PACKAGES="$(CLANG_PACKAGES)" scripts/install-deps
valgrind-deps:
	@EXTRA_PACKAGES=valgrind scripts/install-deps

test: deps lint all
	scripts/run-tests $(LUA)

# The whole suite under each Lua: 5.1, 5.2, 5.3, 5.4 and LuaJIT, each with its own core build.
test-all: deps lint
	EXTRA_PACKAGES="$(ALL_LUA_PACKAGES)" scripts/install-deps
	@set -e; for lua in $(ALL_LUAS); do \
	  $(MAKE) --no-print-directory LUA=$$lua all; \
	  echo "--- $$lua"; scripts/run-tests $$lua; \
	done

lint: deps
	luacheck -q lua spec examples bin fuzz bench types build.lua
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem --std=c99 csrc

# The suite under valgrind memcheck: no invalid access, no definite or indirect leak.
check-memory: deps valgrind-deps all
	MISTRALAI_TEST_WRAP="$(VALGRIND)" scripts/run-tests $(LUA) --exclude-tags=$(SLOW_TAGS)

# The suite with the core built by clang with AddressSanitizer and UndefinedBehaviorSanitizer,
# loaded into the stock interpreter (the runtime preloaded, since lua itself is not built so).
check-asan: deps clang-deps all
	@mkdir -p $(ASAN_BUILD)/mistralai
	$(CLANG) -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	  $(WARN) -fPIC $(LUA_CFLAGS) $(CURL_CFLAGS) $(SRCS) -shared -o $(ASAN_BUILD)/mistralai/core.so $(CURL_LIBS)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  MISTRALAI_TEST_WRAP="env LD_PRELOAD=$(ASAN_LIB)" MISTRALAI_TEST_BUILD=$(ASAN_BUILD) \
	  scripts/run-tests $(LUA) --exclude-tags=$(SLOW_TAGS)

# The suite once more with a collector that never rests.
test-gc: deps all
	MISTRALAI_TEST_GC=1 scripts/run-tests $(LUA) --exclude-tags=big

# The benchmarks side by side (bench/RESULTS.md): the rock on Lua 5.4 and LuaJIT, the curl
# program, and the official TypeScript SDK installed from npm into bench/. Exits non-zero when
# a target is missed (both parts run and write their sections regardless), naming it.
# BENCH_RUNS (5), BENCH_BIG_MIB (1024), BENCH_SKIP_TS=1 to leave the SDK out.
bench: deps
	EXTRA_PACKAGES="valgrind time" scripts/install-deps
	command -v npm >/dev/null || EXTRA_PACKAGES="nodejs npm" scripts/install-deps
	$(MAKE) --no-print-directory LUA=lua5.4 all
	$(MAKE) --no-print-directory LUA=luajit all
	cd bench && npm install --no-audit --no-fund --loglevel=error
	@status=0; lua5.4 bench/bench.lua || status=1; \
	  if [ -f bench/RESULTS.tmp ]; then mv bench/RESULTS.tmp bench/RESULTS.md; fi; \
	  $(MAKE) --no-print-directory bench-waiting || status=1; \
	  exit $$status

# What waiting costs Neovim and an nginx worker: the "Waiting cost" section of
# bench/RESULTS.md; exits non-zero when one of its targets is missed.
bench-waiting: deps
	$(MAKE) --no-print-directory LUA=lua5.4 all
	$(MAKE) --no-print-directory LUA=luajit all
	lua5.4 bench/waiting.lua

# Each fuzzer for FUZZ_SECONDS: libFuzzer on the header parser, the UTF-8 checker and the JSON
# decoder (linked with the Lua library it pushes values into) from the committed seed corpora
# (new finds go to build/fuzz/corpus/), then random option tables and ids through the Lua layer,
# then random answers (JSON of any shape, bytes) from the server.
FUZZ_SECONDS ?= 60
LUA_LIBS   ?= $(shell pkg-config --libs $(LUA_PC) 2>/dev/null)
fuzz: deps clang-deps all
	@mkdir -p build/fuzz/corpus
	@set -e; for target in headers utf8 json; do \
	  mkdir -p build/fuzz/corpus/$$target; \
	  $(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(LUA_CFLAGS) \
	    fuzz/$${target}_fuzz.c csrc/$$target.c -o build/fuzz/$${target}_fuzz $(LUA_LIBS); \
	  build/fuzz/$${target}_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build/fuzz/corpus/$$target fuzz/corpus/$$target; \
	done
	$(LUA) fuzz/requests.lua $(FUZZ_SECONDS)
	$(LUA) fuzz/answers.lua $(FUZZ_SECONDS)

demo: deps all
	scripts/demo $(LUA)

# The local Files API server on PORT until Ctrl-C, its files in DATA_DIR (docs/server.md); exits 1
# with one line when nginx does not start.
server: deps
	$(LUA) -e 'package.path="lua/?.lua;lua/?/init.lua;"..package.path' \
	  -e 'os.exit(require("mistralai.server").run{ port = $(PORT) } and 0 or 1)'

install: all
	install -d $(DESTDIR)$(INST_LUADIR)/mistralai/server $(DESTDIR)$(INST_LIBDIR)/mistralai $(DESTDIR)$(PREFIX)/bin
	sed '1s|.*|#!/usr/bin/env $(LUA)|' bin/mistral-files > $(DESTDIR)$(PREFIX)/bin/mistral-files
	chmod 755 $(DESTDIR)$(PREFIX)/bin/mistral-files
	install -m 644 lua/mistralai/*.lua $(DESTDIR)$(INST_LUADIR)/mistralai/
	install -m 644 lua/mistralai/server/*.lua $(DESTDIR)$(INST_LUADIR)/mistralai/server/
	install -m 755 $(CORE) $(DESTDIR)$(INST_LIBDIR)/mistralai/core.so

# The release rockspec with REPO_URL and the tag vVERSION, and the dev rockspec (scm-1, branch
# main) made from it, into ROCKSPEC_DIR.
rockspec:
	@mkdir -p build $(ROCKSPEC_DIR)
	sed -e 's|^  url = .*|  url = "$(REPO_URL)",|' -e 's|^  tag = .*|  tag = "v$(VERSION)",|' \
	  $(ROCKSPEC) > build/$(ROCKSPEC).tmp
	mv build/$(ROCKSPEC).tmp $(ROCKSPEC_DIR)/$(ROCKSPEC)
	sed -e 's|^version = .*|version = "scm-1"|' -e 's|^  tag = .*|  branch = "main",|' \
	  $(ROCKSPEC_DIR)/$(ROCKSPEC) > $(ROCKSPEC_DIR)/mistralai-scm-1.rockspec

# The source rock, as `luarocks pack` lays it out (the rockspec, and the sources in the folder
# luarocks would have cloned), from the working tree: nothing is fetched.
dist:
	@rm -rf build/dist && mkdir -p build/dist/$(SRC_DIR) $(DIST_DIR)
	git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T - | tar -xf - -C build/dist/$(SRC_DIR)
	cp $(ROCKSPEC) build/dist/
	rm -f $(DIST_DIR)/$(SRC_ROCK)
	cd build/dist && zip -qr $(abspath $(DIST_DIR))/$(SRC_ROCK) $(ROCKSPEC) $(SRC_DIR)
	@echo "packed $(DIST_DIR)/$(SRC_ROCK)"

clean:
	rm -rf build lua/mistralai/core.so
