# pvio - one non-recursive Makefile for the whole tree.
#
#   make                  build everything into build/
#   make check            build and run every test (CUnit suites, end-to-end scripts)
#   make demo             the main job on the sim platform (see README)
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make SANITIZE=1 check ASan + UBSan build, in build/san/
#   make V=1              show full command lines
#
# Debian packages the build or tests need are checked by scripts/deps.sh first.

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
O        ?= 2

ifeq ($(SANITIZE),1)
BUILD    ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
O        := 1
else
BUILD    ?= build
SANFLAGS :=
endif

CFLAGS   ?= -O$(O) -g
PV_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	     -Wmissing-prototypes -Wno-missing-field-initializers -D_GNU_SOURCE \
	     -Iring $(SANFLAGS)
LDFLAGS  ?=
PV_LDFLAGS := $(SANFLAGS)

ifeq ($(V),1)
Q :=
vecho = @true
else
Q := @
vecho = @printf '  %-7s %s\n'
endif

all:

# ---- dependencies -----------------------------------------------------------------------

DEPS_STAMP := $(BUILD)/.deps-ok
$(DEPS_STAMP): scripts/deps.sh
	$(Q)scripts/deps.sh build
	$(Q)mkdir -p $(@D) && touch $@

# ---- compile rules ----------------------------------------------------------------------

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	$(vecho) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(PV_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS_$<) -MMD -MP -c -o $@ $<

define link
	$(vecho) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(PV_LDFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(1)
endef

# ---- ring/ (header-only library) --------------------------------------------------------

RING_HEADERS := ring/pv_ring.h ring/pv_blkif.h ring/pv_netif.h ring/pv_xen_types.h

# ---- bench/ -------------------------------------------------------------------------------

BINS := $(BUILD)/bin/pvio-ring-demo

$(BUILD)/bin/pvio-ring-demo: $(BUILD)/bench/pvio-ring-demo.o
	$(call link,)

# ---- tests/ -------------------------------------------------------------------------------

TEST_LIB := $(BUILD)/tests/lib/pv_test.o
EXTRA_CFLAGS_tests/lib/pv_test.c := -Itests/lib

TESTS := $(BUILD)/tests/test-ring $(BUILD)/tests/test-abi

EXTRA_CFLAGS_tests/unit/test_ring.c := -Itests/lib
$(BUILD)/tests/test-ring: $(BUILD)/tests/unit/test_ring.o $(TEST_LIB)
	$(call link,-lcunit)

# The Xen side of the ABI test sees only Xen's headers, the pvio side only pvio's.
ABI_OBJS := $(addprefix $(BUILD)/tests/abi/,test_abi.o abi_pvio.o abi_xen.o pvio_peer.o xen_peer.o)
EXTRA_CFLAGS_tests/abi/test_abi.c := -Itests/lib
$(BUILD)/tests/test-abi: $(ABI_OBJS) $(TEST_LIB)
	$(call link,-lcunit)

# ---- top-level targets ------------------------------------------------------------------

all: $(BINS) $(TESTS)

check: all
	$(Q)scripts/deps.sh test
	$(vecho) DEMO "two-process ring round trip (smoke)"
	$(Q)$(BUILD)/bin/pvio-ring-demo -n 20000 >/dev/null
	$(Q)scripts/run-tests.sh $(TESTS)

demo: all
	$(Q)$(BUILD)/bin/pvio-ring-demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/pvio
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(RING_HEADERS) $(DESTDIR)$(PREFIX)/include/pvio/

clean:
	rm -rf build

.PHONY: all check demo install clean

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
