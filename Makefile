# pd - GNU Makefile.  Targets: all check lint fuzz fuzz-build install clean deps.
# `make check SANITIZE=1` builds into build-san/ with ASan+UBSan and runs the
# same tests against those binaries.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MODDIR ?= $(PREFIX)/lib/pd
DOCDIR ?= $(PREFIX)/share/doc/pd
SYSCONFDIR ?= /etc/pd
# Where the Postfix master looks for service commands (daemon_directory).
POSTFIX_DAEMON_DIR ?= /usr/lib/postfix/sbin
PKG_CONFIG ?= pkg-config
CC ?= cc
CFLAGS ?= -O2 -g
FUZZ_CC ?= clang

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wpointer-arith -Wundef
PD_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -DPD_MODDIR='"$(MODDIR)"' $(WARN) \
	-fstack-protector-strong
PD_LDFLAGS := -Wl,-z,relro,-z,now
# Executables export their symbols: loaded drivers call pd_* functions.
EXE_LDFLAGS := -Wl,--export-dynamic
# Debian 12 .pc names: openssl sqlite3 libcrypt | cmocka
CORE_PC := openssl sqlite3 libcrypt
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(CORE_PC) 2>/dev/null)
PC_LIBS := $(shell $(PKG_CONFIG) --libs $(CORE_PC) 2>/dev/null)

ifeq ($(SANITIZE),1)
  O := build-san
  CFLAGS := -O1 -g -fno-omit-frame-pointer
  PD_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all
  PD_LDFLAGS += -fsanitize=address,undefined
  export ASAN_OPTIONS := detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
else
  O := build
  PD_CFLAGS += -D_FORTIFY_SOURCE=2
endif

CORE_SRC := $(wildcard pd-core/*.c)
AUTH_SRC := pd-auth/auth.c pd-auth/pwscheme.c pd-auth/file.c pd-auth/sqlite.c
BACKEND_SRC := pd-backend-dovecot/dovecot.c pd-backend-courier/courier.c
LIB_SRC := $(CORE_SRC) $(AUTH_SRC) $(BACKEND_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)

FORKERS := pd-forker-stdio pd-forker-inet pd-forker-postfix
BINS := $(FORKERS:%=$(O)/bin/%)

# Optional drivers: shared objects, so only their users need the libraries.
MODULES := $(O)/lib/pd/pd_auth_ldap.so $(O)/lib/pd/pd_auth_mysql.so
MOD_CFLAGS := -fPIC -fvisibility=hidden
LDAP_PC := ldap lber
MYSQL_PC := libmariadb

UNIT_SRC := $(wildcard t/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:t/unit/%.c=$(O)/t/%)

FUZZ_SRC := $(wildcard fuzz/*.c)
FUZZ_BINS := $(FUZZ_SRC:fuzz/%.c=$(O)/fuzz/%)
FUZZ_LIB_SRC := pd-core/err.c pd-core/log.c pd-core/mem.c pd-core/buf.c \
	pd-core/line.c pd-core/imap_parse.c pd-core/pop3_parse.c pd-core/sasl.c \
	pd-core/conf.c pd-core/conf_keys.c

# V=1 shows the full compiler command lines.
ifeq ($(V),1)
  Q :=
  SAY := @:
else
  Q := @
  SAY := @echo
endif

PROVE_FLAGS ?= -j2
PROVE_TESTS ?= t/

.SECONDARY:
.PHONY: all check unit integration lint fuzz fuzz-build install clean deps demo
all: $(BINS) $(MODULES)

$(O)/lib/pd/pd_auth_ldap.so: pd-auth/ldap.c
	@mkdir -p $(@D)
	$(SAY) "  MOD     $@"
	$(Q)$(CC) $(PD_CFLAGS) $(CFLAGS) $(MOD_CFLAGS) -shared -MMD -MP -o $@ $< \
	  $(shell $(PKG_CONFIG) --cflags --libs $(LDAP_PC)) $(PD_LDFLAGS)

$(O)/lib/pd/pd_auth_mysql.so: pd-auth/mysql.c
	@mkdir -p $(@D)
	$(SAY) "  MOD     $@"
	$(Q)$(CC) $(PD_CFLAGS) $(CFLAGS) $(MOD_CFLAGS) -shared -MMD -MP -o $@ $< \
	  $(shell $(PKG_CONFIG) --cflags --libs $(MYSQL_PC)) $(PD_LDFLAGS)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(PD_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(PC_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/bin/pd-forker-postfix: $(O)/pd-forker-postfix/master.o

$(O)/bin/%: $(O)/%/main.o $(LIB_OBJ)
	@mkdir -p $(@D)
	$(SAY) "  LD      $@"
	$(Q)$(CC) $(PD_CFLAGS) $(CFLAGS) -o $@ $^ $(PD_LDFLAGS) $(EXE_LDFLAGS) $(LDFLAGS) $(PC_LIBS)

$(O)/t/%: $(O)/t/unit/%.o $(LIB_OBJ)
	@mkdir -p $(@D)
	$(SAY) "  LD      $@"
	$(Q)$(CC) $(PD_CFLAGS) $(CFLAGS) -o $@ $^ $(PD_LDFLAGS) $(EXE_LDFLAGS) $(LDFLAGS) $(PC_LIBS) \
	  $(shell $(PKG_CONFIG) --libs cmocka)

# libFuzzer targets: clang, own flags, only the pure parsers.
$(O)/fuzz/%: fuzz/%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(@D)
	$(SAY) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -I. -DPD_MODDIR='"$(MODDIR)"' -g -O1 \
	  -fsanitize=fuzzer,address,undefined -o $@ $^ $(PC_CFLAGS) $(PC_LIBS)

# Courier's servers conflict with Dovecot's packages: the tests run them
# from an unpacked tree (scripts/deps-courier, REFERENCE §2).
COURIER_DIR ?= $(CURDIR)/build/courier
export PD_COURIER_DIR := $(COURIER_DIR)

deps:
	@./scripts/deps
	@./scripts/deps-courier $(COURIER_DIR)

# The embedded default, interactively: SQLite users, Dovecot, this terminal.
demo: deps all
	@./scripts/demo $(PROTO)

unit: $(UNIT_BINS) $(MODULES)
	PD_MODULE_DIR=$(CURDIR)/$(O)/lib/pd prove --exec '' $(UNIT_BINS)

integration: $(BINS) $(MODULES)
	PD_BIN_DIR=$(CURDIR)/$(O)/bin PD_MODULE_DIR=$(CURDIR)/$(O)/lib/pd prove -I t/lib $(PROVE_FLAGS) $(PROVE_TESTS)

# check: install what is missing, build everything, run every test.
check: deps
	$(MAKE) --no-print-directory all $(UNIT_BINS) fuzz-build
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory integration

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	  echo "== $$f"; mkdir -p fuzz/corpus/$$(basename $$f); \
	  $$f -max_total_time=60 fuzz/corpus/$$(basename $$f) || exit 1; done

lint:
	@if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strncpy|strtok|atoi|atol|alloca)[[:space:]]*\(' \
	    $$(git ls-files '*.c' '*.h'); then echo "lint: banned function (STYLE 2.6)"; exit 1; fi
	@if command -v cppcheck >/dev/null; then \
	  cppcheck -q --error-exitcode=1 --enable=warning,portability -I. --std=c11 \
	    --suppress=missingIncludeSystem pd-core pd-auth pd-backend-* pd-forker-*; fi
	@echo "lint: ok"

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)
	install -m 755 $(BINS) $(DESTDIR)$(SBINDIR)/
	install -d $(DESTDIR)$(MODDIR)
	install -m 644 $(MODULES) $(DESTDIR)$(MODDIR)/
	install -m 644 etc/pd.conf etc/inetd.conf etc/master.cf etc/schema-sqlite.sql \
	  README.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(POSTFIX_DAEMON_DIR)
	ln -sf $(SBINDIR)/pd-forker-postfix $(DESTDIR)$(POSTFIX_DAEMON_DIR)/pd-forker-postfix
	test -e $(DESTDIR)$(SYSCONFDIR)/pd.conf || \
	  install -m 644 etc/pd.conf $(DESTDIR)$(SYSCONFDIR)/pd.conf

clean:
	rm -rf build build-san demo

-include $(shell find $(O) -path $(O)/courier -prune -o -name '*.d' -type f -print 2>/dev/null)
