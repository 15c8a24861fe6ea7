# guestbookd: GNU make. `make help` lists the targets.
.DEFAULT_GOAL := all
# Keep every intermediate file (test plugins, objects): nothing is rebuilt
# twice and nothing a test needs is deleted behind its back.
.SECONDARY:

VERSION  := 0.1.0
REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
PLUGINDIR = $(PREFIX)/lib/guestbook
WWWDIR    = $(PREFIX)/share/guestbook/www
INCLUDEDIR = $(PREFIX)/include
PKGCONFIGDIR = $(PREFIX)/lib/pkgconfig
MANDIR    = $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system

CC       ?= cc
OPT      ?= -O2 -g
SAN      ?=
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wsign-compare
CPPFLAGS += -D_GNU_SOURCE -Icore/include -Icore -Iplugins/common \
            -DGB_VERSION='"$(VERSION)"' -DGB_REVISION='"$(REVISION)"' \
            -DGB_PLUGIN_DIR='"$(PLUGINDIR)"' -DGB_WWW_DIR='"$(WWWDIR)"'
CFLAGS   += -std=c11 $(OPT) $(WARN) $(SAN) -fno-strict-aliasing -pthread -MMD -MP
LDFLAGS  += $(SAN) -pthread
MONGO_CFLAGS := $(shell pkg-config --cflags libmongoc-1.0 2>/dev/null)
MONGO_LIBS   := $(shell pkg-config --libs libmongoc-1.0 2>/dev/null)

# ---- the core ---------------------------------------------------------
# plugins/common/message.c: the host offers its time format (format_time).
CORE_SRCS := $(filter-out core/main.c,$(wildcard core/*.c))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
CORE_LIBS := -lcivetweb -lcjson -ldl -lm
COMMON_SRCS := $(wildcard plugins/common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/pic/%.o)

# Archives: whoever links one gets only the objects it calls. Rebuilt
# from scratch, so an object whose source is gone leaves with it.
$(BUILD)/libgbcore.a: $(CORE_OBJS)
$(BUILD)/%.a:
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# The host formats times as the api does (api->format_time) and the data
# commands (export, import) validate messages with the API's rules:
# plugins/common is linked in (hidden symbols: no clash with the plugins').
$(BUILD)/guestbookd: $(BUILD)/obj/core/main.o $(BUILD)/libgbcore.a $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(CORE_LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(MONGO_CFLAGS) -c -o $@ $<

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(MONGO_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

# ---- plugins: every directory under plugins/ and storage/ with .c files
# becomes $(BUILD)/plugins/NAME.so. An optional module.mk in the directory
# sets NAME_LIBS (extra libraries) and NAME_COMMON=1 (link plugins/common).
PLUGIN_DIRS := $(filter-out plugins/common,$(patsubst %/,%,$(dir $(wildcard plugins/*/*.c storage/*/*.c))))
PLUGIN_DIRS := $(sort $(PLUGIN_DIRS))
-include $(wildcard plugins/*/module.mk storage/*/module.mk)

define plugin_rule
$(1)_NAME := $(notdir $(1))
$(BUILD)/plugins/$$($(1)_NAME).so: $(patsubst %.c,$(BUILD)/pic/%.o,$(wildcard $(1)/*.c)) $$(if $$($$($(1)_NAME)_COMMON),$(COMMON_OBJS))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -shared -o $$@ $$^ $$($$($(1)_NAME)_LIBS) -lcjson
PLUGINS += $(BUILD)/plugins/$$($(1)_NAME).so
endef
$(foreach d,$(PLUGIN_DIRS),$(eval $(call plugin_rule,$(d))))

# Test-only plugins: deliberately broken ones for the loader's tests, and
# legacy_backend (the original backend's contract) for the front end's.
TEST_PLUGINS := $(patsubst tests/plugins/%.c,$(BUILD)/test-plugins/%.so,$(wildcard tests/plugins/*.c))
$(BUILD)/test-plugins/%.so: $(BUILD)/pic/tests/plugins/%.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -o $@ $^ -lcjson

BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -lcivetweb -lcjson

.PHONY: all
all: $(BUILD)/guestbookd $(PLUGINS) $(BENCH_BINS)

# ---- tests: every tests/unit/*.c and tests/integration/*.c is one
# Criterion binary, linked with its own object and the parts its line in
# the table below names. Only test objects see tests/lib's headers.
$(BUILD)/obj/tests/%.o: CPPFLAGS += -Itests/lib
$(BUILD)/obj/tests/unit/web_%.o: CPPFLAGS += -Iplugins/web
TESTLIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/lib/*.c))
WEB_OBJS     := $(patsubst %.c,$(BUILD)/pic/%.o,$(wildcard plugins/web/*.c))
$(BUILD)/libgbcommon.a: $(COMMON_OBJS)
$(BUILD)/libgbtest.a: $(TESTLIB_OBJS)
$(BUILD)/libgbweb.a: $(WEB_OBJS)

# The parts: archives with the libraries their objects call, libraries a
# test calls itself, and `plugins`, the test plugins a test loads (built
# first, not linked). Libraries no linked object calls are dropped
# (--as-needed). `core` links as guestbookd does (-rdynamic): its tests
# load plugins into the host in their own process.
TEST_PART_core    := $(BUILD)/libgbcore.a $(BUILD)/libgbcommon.a $(CORE_LIBS) -rdynamic
TEST_PART_common  := $(BUILD)/libgbcommon.a -lcjson -lm
TEST_PART_web     := $(BUILD)/libgbweb.a $(BUILD)/libgbcommon.a -lcjson -lm
TEST_PART_testlib := $(BUILD)/libgbtest.a
TEST_PART_cjson   := -lcjson
TEST_PART_dl      := -ldl
TEST_PART_mongo   := $(MONGO_LIBS)
TEST_PART_sqlite  := -lsqlite3
TEST_PART_plugins := $(TEST_PLUGINS)

# core: the host (core/ but main.c) and plugins/common, which it calls;
# common: plugins/common alone; web: the web plugin's objects; testlib:
# tests/lib (the harness that starts guestbookd, the conformance suite,
# FerretDB, Prometheus, Jaeger).
TEST_LINK_unit/core_config                    := core
TEST_LINK_unit/core_intake                    := core
TEST_LINK_unit/core_log                       := core
TEST_LINK_unit/core_ratelimit                 := core
TEST_LINK_unit/core_response                  := core
TEST_LINK_unit/core_router                    := core
TEST_LINK_unit/message_http_headers           := common
TEST_LINK_unit/message_json                   := common
TEST_LINK_unit/message_line                   := common
TEST_LINK_unit/message_time                   := core
TEST_LINK_unit/message_validate               := common
TEST_LINK_unit/metrics_registry               := core
TEST_LINK_unit/sqlite_store_ops               := cjson dl
TEST_LINK_unit/trace_context                  := core
TEST_LINK_unit/web_form                       := web
TEST_LINK_unit/web_relative_time              := web
TEST_LINK_unit/web_template                   := web
TEST_LINK_integration/api_batch               := testlib cjson
TEST_LINK_integration/api_cache               := testlib
TEST_LINK_integration/api_guards              := testlib cjson
TEST_LINK_integration/api_idempotency         := testlib cjson
TEST_LINK_integration/api_legacy              := testlib cjson
TEST_LINK_integration/api_unavailable         := testlib cjson
TEST_LINK_integration/api_v1                  := testlib cjson
TEST_LINK_integration/core_host               := testlib cjson plugins
TEST_LINK_integration/core_lifecycle          := testlib cjson
TEST_LINK_integration/core_proxy              := testlib
TEST_LINK_integration/example_plugin          := testlib
TEST_LINK_integration/metrics_exporter        := testlib
TEST_LINK_integration/metrics_page            := core testlib
TEST_LINK_integration/metrics_prometheus      := testlib cjson
TEST_LINK_integration/mongo_api_batch         := testlib cjson
TEST_LINK_integration/mongo_api_guards        := testlib cjson
TEST_LINK_integration/mongo_api_legacy        := testlib cjson
TEST_LINK_integration/mongo_api_v1            := testlib cjson
TEST_LINK_integration/mongo_config            := testlib cjson mongo
TEST_LINK_integration/mongo_outage            := testlib cjson mongo
TEST_LINK_integration/mongo_replicas          := testlib cjson mongo
TEST_LINK_integration/role_frontend           := testlib cjson plugins
TEST_LINK_integration/storage_http            := core testlib
TEST_LINK_integration/storage_http_conformance := core testlib
TEST_LINK_integration/storage_http_legacy     := core testlib plugins
TEST_LINK_integration/storage_mongo           := core testlib mongo
TEST_LINK_integration/storage_sqlite          := core testlib
TEST_LINK_integration/trace_jaeger            := testlib cjson
TEST_LINK_integration/transfer_mongo          := common testlib
TEST_LINK_integration/transfer_sqlite         := common testlib sqlite
TEST_LINK_integration/web_cache               := common testlib
TEST_LINK_integration/web_page                := testlib
TEST_LINK_integration/web_static              := testlib

UNIT_TESTS  := $(patsubst tests/%.c,%,$(wildcard tests/unit/*.c))
INTEG_TESTS := $(patsubst tests/%.c,%,$(wildcard tests/integration/*.c))
test_parts = $(foreach p,$(TEST_LINK_$(1)),$(TEST_PART_$(p)))
define test_rule
$(if $(TEST_LINK_$(1)),,$(error tests/$(1).c has no line TEST_LINK_$(1) in the Makefile's test table))
$(BUILD)/tests/$(1): $(BUILD)/obj/tests/$(1).o $(filter-out -%,$(call test_parts,$(1)))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -Wl,--as-needed -o $$@ $$< -Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group -lcriterion $(filter -%,$(call test_parts,$(1)))
endef
$(foreach t,$(UNIT_TESTS) $(INTEG_TESTS),$(eval $(call test_rule,$(t))))
UNIT_BINS  := $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
INTEG_BINS := $(addprefix $(BUILD)/tests/,$(INTEG_TESTS))

TEST_ENV = GB_BUILD_DIR=$(abspath $(BUILD)) GB_SRC_DIR=$(CURDIR)
TEST_JOBS ?= 1
FORCE:
.PHONY: FORCE deps test unit integration hostile e2e check bench run install clean help deploy-check deploy-golden format format-check sdk-check
deps:
	@scripts/install-deps.sh $(DEPS)

unit: all $(UNIT_BINS)
	@$(TEST_ENV) scripts/run-tests.sh $(UNIT_BINS)

integration: all $(TEST_PLUGINS) $(INTEG_BINS)
	@$(TEST_ENV) scripts/run-tests.sh $(INTEG_BINS)

e2e: all
	@$(TEST_ENV) scripts/run-e2e.sh

# Hostile clients at the HTTP edge, direct and through the nginx edge.
hostile: all
	@$(TEST_ENV) scripts/run-hostile.sh

test: DEPS = build test
test:
	@scripts/install-deps.sh build test
	$(MAKE) format-check
	$(MAKE) unit integration
	$(MAKE) sdk-check
	$(MAKE) hostile
	$(MAKE) e2e
	$(MAKE) check

# ASan + UBSan build of everything, running the unit and integration tests.
check:
	@scripts/install-deps.sh build test
	$(MAKE) BUILD=$(BUILD)/san OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" unit integration

bench:
	@scripts/install-deps.sh build bench
	$(MAKE) all
	@$(TEST_ENV) bench/run.sh

run:
	@scripts/install-deps.sh build
	$(MAKE) all
	mkdir -p data
	$(BUILD)/guestbookd --plugin-dir $(BUILD)/plugins --www-dir www \
	  --drain-seconds 0 $(ARGS)

deploy-check:
	deploy/check.sh

# Rewrites deploy/checks/golden/ (the renders 30-helm compares against):
# run it when a chart change is meant to change the manifests.
deploy-golden:
	deploy/checks/golden.sh

# The installed SDK and service files, with this build's paths and ABI.
ABI_MAJOR = $(shell sed -n 's/^\#define GB_ABI_MAJOR \([0-9]*\)$$/\1/p' core/include/guestbook/plugin.h)
ABI_MINOR = $(shell sed -n 's/^\#define GB_ABI_MINOR \([0-9]*\)$$/\1/p' core/include/guestbook/plugin.h)
DIST_FILES := $(BUILD)/dist/guestbook-plugin.pc $(BUILD)/dist/guestbookd.8 $(BUILD)/dist/guestbookd.service
# Written on every make install: PREFIX may differ from the last run.
$(BUILD)/dist/%: dist/%.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	    -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@WWWDIR@|$(WWWDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@ABI_MAJOR@|$(ABI_MAJOR)|g' -e 's|@ABI_MINOR@|$(ABI_MINOR)|g' $< > $@

install: all $(DIST_FILES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(WWWDIR) \
	  $(DESTDIR)$(INCLUDEDIR)/guestbook $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/guestbookd $(DESTDIR)$(BINDIR)/guestbookd
	install -m 0644 $(PLUGINS) $(DESTDIR)$(PLUGINDIR)/
	cp -R www/. $(DESTDIR)$(WWWDIR)/
	install -m 0644 core/include/guestbook/plugin.h core/include/guestbook/utf8.h \
	  $(DESTDIR)$(INCLUDEDIR)/guestbook/
	install -m 0644 $(BUILD)/dist/guestbook-plugin.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 0644 $(BUILD)/dist/guestbookd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/dist/guestbookd.service $(DESTDIR)$(UNITDIR)/

# The installed SDK on its own: a DESTDIR install, the example plugin built
# outside the tree with pkg-config only, loaded into the installed server;
# the man page and the unit checked by groff/man and systemd-analyze.
sdk-check: all
	@$(TEST_ENV) tests/sdk/run.sh

# Every C file of the project, as clang-format (Debian's) would write it.
C_FILES = $(wildcard core/*.[ch] core/include/guestbook/*.h plugins/*/*.[ch] storage/*/*.[ch] tests/*/*.[ch] bench/*.c bench/*/*.c)
format:
	clang-format -i $(C_FILES)

format-check:
	@scripts/install-deps.sh build test
	clang-format --dry-run --Werror $(C_FILES)

clean:
	rm -rf $(BUILD)

help:
	@echo "make TARGET (default: all)"
	@echo "  all          guestbookd, its plugins and the bench tools"
	@echo "  run          build and start role all (SQLite) on http://localhost:8080"
	@echo "  test         deps, format-check, unit, integration, sdk-check, hostile, e2e, then check"
	@echo "  deps         install the Debian packages of DEPS (build test bench)"
	@echo "  unit         the unit tests (tests/unit)"
	@echo "  integration  the integration tests (tests/integration)"
	@echo "  hostile      the hostile-client suite (tests/hostile, nginx edge)"
	@echo "  e2e          the browser tests (Chromium, playwright-core)"
	@echo "  check        ASan+UBSan build running the unit and integration tests"
	@echo "  $(BUILD)/tests/unit/NAME, $(BUILD)/tests/integration/NAME"
	@echo "               one test binary (run it with GB_BUILD_DIR and GB_SRC_DIR set)"
	@echo "  bench        wrk benchmarks against the ceiling server"
	@echo "  install      PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) (server, plugins, SDK, man page, unit)"
	@echo "  sdk-check    the installed SDK builds and loads the example plugin"
	@echo "  deploy-check every file under deploy/ checked by its consumer"
	@echo "  deploy-golden rewrite the golden chart renders deploy-check compares"
	@echo "  format       clang-format the C sources in place"
	@echo "  format-check the C sources against .clang-format (part of test)"
	@echo "  clean        remove $(BUILD)"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
