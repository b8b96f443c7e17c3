# mistralai rock: build, test, demo, local server.
# LUA selects the interpreter the core is built for: lua5.4 (default), lua5.3, lua5.2, lua5.1, luajit.
LUA        ?= lua5.4
LUA_PC     := $(if $(filter luajit,$(LUA)),luajit,$(LUA))
LUA_CFLAGS ?= $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null)
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS  ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       ?= -Wall -Wextra -Werror
UNAME_S    := $(shell uname -s)
ifeq ($(UNAME_S),Darwin)
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

.PHONY: all deps test lint demo server install clean

all: $(CORE)

$(CORE): $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fPIC $(LUA_CFLAGS) $(CURL_CFLAGS) $(SRCS) $(LIBFLAG) -o $@ $(CURL_LIBS)

# Installs what is missing (Debian packages), once.
deps:
	@scripts/install-deps

test: deps lint all
	scripts/run-tests $(LUA)

lint: deps
	luacheck -q lua spec examples
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem --std=c99 csrc

demo: deps all
	scripts/demo $(LUA)

# The local Files API server in the foreground, on PORT (Ctrl-C stops it).
server: deps
	$(LUA) -e 'package.path="lua/?.lua;lua/?/init.lua;"..package.path' \
	  -e 'require("mistralai.server").run{ port = $(PORT) }'

install: all
	install -d $(DESTDIR)$(INST_LUADIR)/mistralai/server $(DESTDIR)$(INST_LIBDIR)/mistralai
	install -m 644 lua/mistralai/*.lua $(DESTDIR)$(INST_LUADIR)/mistralai/
	install -m 644 lua/mistralai/server/*.lua $(DESTDIR)$(INST_LUADIR)/mistralai/server/
	install -m 755 $(CORE) $(DESTDIR)$(INST_LIBDIR)/mistralai/core.so

clean:
	rm -rf build
