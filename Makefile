# pvio - one non-recursive Makefile for the whole tree.
#
#   make                  build everything into build/
#   make check            build and run every test (CUnit suites, end-to-end scripts)
#   make demo             the main job on the sim platform (see README)
#   make bench            pvio-bench's standard matrix into bench/results/ (docs/benchmarking.md)
#   make bench-net        pvio's net path against a veth pair (docs/benchmarking.md)
#   make install PREFIX=/usr/local [DESTDIR=...] [XEN_SCRIPTS=/etc/xen/scripts]
#   make SANITIZE=1 check ASan + UBSan build, in build/san/
#   make SANITIZE=thread check-threads   pvio-backd's threads and blkfront's queue threads
#                         under TSan, in build/tsan/
#   make fuzz             each libFuzzer target for 10 minutes (tests/fuzz/fuzz.mk)
#   make V=1              show full command lines
#
# Debian packages the build or tests need are checked by scripts/deps.sh first.

PREFIX   ?= /usr/local
# libxl's hotplug scripts (dist/xen: pvio-noop for disks, pvio-vif for vifs; docs/xen.md)
XEN_SCRIPTS ?= /etc/xen/scripts
DESTDIR  ?=
CC       ?= cc
O        ?= 2

ifeq ($(SANITIZE),1)
BUILD    ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
O        := 1
else ifeq ($(SANITIZE),thread)
# ThreadSanitizer: pvio-backd's worker threads (make SANITIZE=thread check-threads).
BUILD    ?= build/tsan
# -Wno-tsan: the ring's fences order memory shared with another process, not our threads.
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan
O        := 1
else
BUILD    ?= build
SANFLAGS :=
endif

CFLAGS   ?= -O$(O) -g
PV_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	     -Wmissing-prototypes -Wno-missing-field-initializers -D_GNU_SOURCE \
	     -Iring -Icommon -Iplatform -Igrant $(SANFLAGS)
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
BINS :=

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

# ---- common/ (event loop shared by the daemons) ---------------------------------------------

COMMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard common/*.c))

# ---- platform/ (libpvio-platform.a: the porting interface, xen and sim) ---------------------

PLAT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard platform/*.c platform/xen/*.c platform/sim/*.c))
PLAT_LIB  := $(BUILD)/lib/libpvio-platform.a
$(foreach f,$(wildcard platform/sim/*.c),$(eval EXTRA_CFLAGS_$(f) := -Isim))
PLAT_LIBS := -lxenstore -lxengnttab -lxenevtchn -lxenctrl
$(PLAT_LIB): $(PLAT_OBJS)
	$(vecho) AR $@
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# ---- grant/ (libpvio-grant.a: front pools, back map cache, copy batches; also in libpvio-front.a) --

GRANT_HEADERS := $(wildcard grant/*.h)
GRANT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard grant/*.c))
GRANT_LIB  := $(BUILD)/lib/libpvio-grant.a
$(GRANT_LIB): $(GRANT_OBJS)
	$(vecho) AR $@
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# ---- sim/ (pvio-simd: xenstored in sim/xsd/, grant tables, event channels, domains) ----------

XSD_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard sim/xsd/*.c))
SIM_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out sim/pvio-simd.c,$(wildcard sim/*.c)))
$(foreach f,$(wildcard sim/*.c sim/xsd/*.c),$(eval EXTRA_CFLAGS_$(f) := -Isim -Isim/xsd))

ifneq ($(wildcard sim/pvio-simd.c),)
BINS += $(BUILD)/bin/pvio-simd
$(BUILD)/bin/pvio-simd: $(BUILD)/sim/pvio-simd.o $(SIM_OBJS) $(XSD_OBJS) $(COMMON_OBJS)
	$(call link,)
endif

# ---- xenstore-tools/ (pvio-ctl: every .c there) --------------------------------------------

CTL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard xenstore-tools/*.c))
$(foreach f,$(wildcard xenstore-tools/*.c),$(eval EXTRA_CFLAGS_$(f) := -Ibackend -Ixenstore-tools))
BINS += $(BUILD)/bin/pvio-ctl
$(BUILD)/bin/pvio-ctl: $(CTL_OBJS) $(PLAT_LIB)
	$(call link,$(PLAT_LIBS))

# ---- frontend/ (libpvio-front.a; frontend/fuse/: pvio-fuse) ----------------------------------

# grant/ inside: a porter links libpvio-front.a and the platform, nothing else.
FRONT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard frontend/*.c)) $(GRANT_OBJS)
FRONT_LIB  := $(BUILD)/lib/libpvio-front.a
$(foreach f,$(wildcard frontend/*.c frontend/fuse/*.c frontend/tap/*.c),$(eval EXTRA_CFLAGS_$(f) := -Ifrontend))
$(FRONT_LIB): $(FRONT_OBJS)
	$(vecho) AR $@
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

ifneq ($(wildcard frontend/fuse/*.c),)
# Recursive (=), so pkg-config runs when a recipe needs the flags, not when make parses this
# file: on a fresh machine fuse3.pc exists only once $(DEPS_STAMP) has installed libfuse3-dev.
FUSE_CFLAGS = $(shell pkg-config --cflags fuse3)
FUSE_LIBS   = $(shell pkg-config --libs fuse3)
$(foreach f,$(wildcard frontend/fuse/*.c),$(eval EXTRA_CFLAGS_$(f) = -Ifrontend $$(FUSE_CFLAGS)))
BINS += $(BUILD)/bin/pvio-fuse
$(BUILD)/bin/pvio-fuse: $(patsubst %.c,$(BUILD)/%.o,$(wildcard frontend/fuse/*.c)) $(FRONT_LIB) $(PLAT_LIB)
	$(call link,$(FUSE_LIBS) $(PLAT_LIBS))
endif

# frontend/nbdkit/: nbdkit-pvio-plugin.so, a guest's disk over NBD (libpvio-front and the
# platform built again with -fPIC into it).  Not with SANITIZE=1: nbdkit itself is not
# built with the sanitizers, and their runtime must come first in a process.
ifneq ($(SANITIZE),1)
ifneq ($(wildcard frontend/nbdkit/*.c),)
PIC_SRCS := $(wildcard frontend/*.c grant/*.c platform/*.c platform/xen/*.c platform/sim/*.c)
EXTRA_CFLAGS_frontend/nbdkit/nbdkit-pvio-plugin.c := -Ifrontend
NBDKIT_PLUGIN := $(BUILD)/lib/nbdkit-pvio-plugin.so
$(BUILD)/pic/%.o: %.c | $(DEPS_STAMP)
	$(vecho) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(PV_CFLAGS) $(CFLAGS) -fPIC $(EXTRA_CFLAGS_$<) -MMD -MP -c -o $@ $<
$(NBDKIT_PLUGIN): $(patsubst %.c,$(BUILD)/pic/%.o,frontend/nbdkit/nbdkit-pvio-plugin.c $(PIC_SRCS))
	$(vecho) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared $(PV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PLAT_LIBS)
all: $(NBDKIT_PLUGIN)
endif
endif

# frontend/tap/: pvio-tap, a guest's vif as a TAP device.
$(foreach f,$(wildcard frontend/tap/*.c),$(eval EXTRA_CFLAGS_$(f) := -Ifrontend))
BINS += $(BUILD)/bin/pvio-tap
$(BUILD)/bin/pvio-tap: $(patsubst %.c,$(BUILD)/%.o,$(wildcard frontend/tap/*.c)) $(FRONT_LIB) $(PLAT_LIB)
	$(call link,$(PLAT_LIBS))

# ---- backend/ (pvio-backd: every .c there) ----------------------------------------------------

BACK_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out backend/pvio-backd.c,$(wildcard backend/*.c)))
$(foreach f,$(wildcard backend/*.c),$(eval EXTRA_CFLAGS_$(f) := -Ibackend))
ifneq ($(wildcard backend/pvio-backd.c),)
BINS += $(BUILD)/bin/pvio-backd
$(BUILD)/bin/pvio-backd: $(BUILD)/backend/pvio-backd.o $(BACK_OBJS) $(COMMON_OBJS) $(GRANT_LIB) $(PLAT_LIB)
	$(call link,-pthread -luring -lsystemd $(PLAT_LIBS))
endif

# ---- bench/ -------------------------------------------------------------------------------

BINS += $(BUILD)/bin/pvio-ring-demo

$(BUILD)/bin/pvio-ring-demo: $(BUILD)/bench/pvio-ring-demo.o $(PLAT_LIB)
	$(call link,$(PLAT_LIBS))

# pvio-bench: libnbd is optional (its NBD baseline is skipped, saying why, without it).
BINS += $(BUILD)/bin/pvio-bench
NBD_CFLAGS = $(shell pkg-config --exists libnbd 2>/dev/null && echo -DHAVE_LIBNBD $$(pkg-config --cflags libnbd))
NBD_LIBS   = $(shell pkg-config --libs libnbd 2>/dev/null)
EXTRA_CFLAGS_bench/pvio-bench.c = -Ifrontend $(NBD_CFLAGS)
$(BUILD)/bin/pvio-bench: $(BUILD)/bench/pvio-bench.o $(FRONT_LIB) $(PLAT_LIB)
	$(call link,-luring $(NBD_LIBS) -lm $(PLAT_LIBS))

# ---- tests/ -------------------------------------------------------------------------------

TEST_LIB := $(BUILD)/tests/lib/pv_test.o
EXTRA_CFLAGS_tests/lib/pv_test.c := -Itests/lib
# For tests that run a real pvio-simd (needs the platform library).
SIMTEST := $(BUILD)/tests/lib/pv_simtest.o
EXTRA_CFLAGS_tests/lib/pv_simtest.c := -Itests/lib

TESTS := $(BUILD)/tests/test-ring $(BUILD)/tests/test-abi

EXTRA_CFLAGS_tests/unit/test_ring.c := -Itests/lib
$(BUILD)/tests/test-ring: $(BUILD)/tests/unit/test_ring.o $(TEST_LIB)
	$(call link,-lcunit)

# The Xen side of the ABI test sees only Xen's headers, the pvio side only pvio's.
ABI_OBJS := $(addprefix $(BUILD)/tests/abi/,test_abi.o abi_pvio.o abi_xen.o pvio_peer.o xen_peer.o)
EXTRA_CFLAGS_tests/abi/test_abi.c := -Itests/lib
$(BUILD)/tests/test-abi: $(ABI_OBJS) $(TEST_LIB)
	$(call link,-lcunit)

# Every other folder tests/<name>/ is one CUnit program, build/tests/test-<name>, made of
# its .c files, the test library, and what TEST_DEPS_<name> / TEST_LIBS_<name> add.
TEST_DIRS := $(filter-out lib abi unit xen fresh fuzz bench,$(notdir $(patsubst %/,%,$(wildcard tests/*/))))
TEST_DEPS_xsd := $(XSD_OBJS) $(COMMON_OBJS)
TEST_LIBS_xsd := -lxenstore
TEST_DEPS_sim := $(SIMTEST) $(SIM_OBJS) $(XSD_OBJS) $(COMMON_OBJS) $(PLAT_LIB)
TEST_LIBS_sim := $(PLAT_LIBS)
TEST_DEPS_platform := $(PLAT_LIB)
TEST_LIBS_platform := $(PLAT_LIBS)
TEST_DEPS_backend := $(SIMTEST) $(BACK_OBJS) $(COMMON_OBJS) $(GRANT_LIB) $(PLAT_LIB)
TEST_LIBS_backend := -pthread -luring $(PLAT_LIBS)
TEST_DEPS_frontend := $(SIMTEST) $(FRONT_LIB) $(PLAT_LIB)
TEST_LIBS_frontend := $(PLAT_LIBS)
TEST_DEPS_ctl := $(SIMTEST) $(filter-out $(BUILD)/xenstore-tools/pvio-ctl.o,$(CTL_OBJS)) $(PLAT_LIB)
TEST_LIBS_ctl := $(PLAT_LIBS)
TEST_DEPS_net := $(SIMTEST) $(BACK_OBJS) $(COMMON_OBJS) $(GRANT_LIB) $(PLAT_LIB)
TEST_LIBS_net := -pthread -luring $(PLAT_LIBS)
TEST_DEPS_blk := $(SIMTEST) $(FRONT_LIB) $(PLAT_LIB)
TEST_LIBS_blk := $(PLAT_LIBS)
# pvio-ctl, pvio-backd and pvio-simd as an administrator runs them (issue 13).
TEST_DEPS_admin := $(SIMTEST) $(FRONT_LIB) $(PLAT_LIB) $(BUILD)/bin/pvio-ctl $(BUILD)/bin/pvio-backd $(BUILD)/bin/pvio-simd
TEST_LIBS_admin := $(PLAT_LIBS)
TEST_DEPS_grant := $(SIMTEST) $(GRANT_LIB) $(PLAT_LIB)
TEST_LIBS_grant := $(PLAT_LIBS)
TEST_DEPS_netfront := $(SIMTEST) $(FRONT_LIB) $(PLAT_LIB)
TEST_LIBS_netfront := $(PLAT_LIBS)
# The net path end to end (needs pvio-tap built); its back end is tests/netfront's fake.
TEST_DEPS_netpath := $(SIMTEST) $(BUILD)/tests/netfront/fake_netback.o $(FRONT_LIB) $(PLAT_LIB) $(BUILD)/bin/pvio-tap
TEST_LIBS_netpath := $(PLAT_LIBS)
# pvio-fuse end to end: its usage errors (tests/fuse), queue depth and data under fio
# (tests/fuseqd), each with a real pvio-simd and pvio-backd.
FUSE_TEST_BINS := $(BUILD)/bin/pvio-fuse $(BUILD)/bin/pvio-backd $(BUILD)/bin/pvio-ctl $(BUILD)/bin/pvio-simd
TEST_DEPS_fuse := $(SIMTEST) $(PLAT_LIB) $(FUSE_TEST_BINS)
TEST_LIBS_fuse := $(PLAT_LIBS)
TEST_DEPS_fuseqd := $(SIMTEST) $(PLAT_LIB) $(FUSE_TEST_BINS)
TEST_LIBS_fuseqd := $(PLAT_LIBS)
# The nbdkit plugin over NBD (tests/nbd; skipped with SANITIZE=1, which does not build it).
TEST_DEPS_nbd := $(SIMTEST) $(PLAT_LIB) $(FUSE_TEST_BINS) $(NBDKIT_PLUGIN)
TEST_LIBS_nbd := $(PLAT_LIBS)
define test_prog
TESTS += $(BUILD)/tests/test-$(1)
$(foreach f,$(wildcard tests/$(1)/*.c),$(eval EXTRA_CFLAGS_$(f) := -Itests/lib -Itests/$(1) -Isim -Isim/xsd -Ibackend -Ifrontend -Ixenstore-tools))
$(BUILD)/tests/test-$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/$(1)/*.c)) $(TEST_LIB) $$(TEST_DEPS_$(1))
	$$(call link,-lcunit $$(TEST_LIBS_$(1)))
endef
$(foreach t,$(TEST_DIRS),$(eval $(call test_prog,$(t))))
EXTRA_CFLAGS_tests/netpath/test_netpath.c += -Itests/netfront

# libFuzzer targets (clang): make fuzz; make check runs each for 20 s.
include tests/fuzz/fuzz.mk

# ---- top-level targets ------------------------------------------------------------------

all: $(BINS) $(TESTS)

check: all $(FUZZ_BINS)
	$(Q)scripts/deps.sh test
	$(vecho) DEMO "ring round trip, two processes and two sim domains (smoke)"
	$(Q)$(BUILD)/bin/pvio-ring-demo -n 20000 >/dev/null
	$(Q)$(BUILD)/bin/pvio-ring-demo -s -n 20000 >/dev/null
	$(vecho) BENCH "pvio-bench on a null and a file disk, 1 s each (smoke, no timing)"
	$(Q)tests/bench/smoke.sh $(BUILD)/bin >/dev/null
	$(Q)PVIO_BUILD=$(BUILD) scripts/run-tests.sh $(TESTS)
	$(Q)PVIO_FUZZ_SEED=1 tests/fuzz/run.sh $(FUZZ_CHECK_SECONDS) $(FUZZ_DIR) $(FUZZ_NAMES)

# pvio-backd's data-path threads under ThreadSanitizer: test-backend against TSan builds of
# pvio-backd and pvio-simd in build/tsan/ (a race report makes the daemon exit 66).
check-threads:
	$(Q)$(MAKE) SANITIZE=thread check-threads-run

check-threads-run: $(BUILD)/bin/pvio-backd $(BUILD)/bin/pvio-simd $(BUILD)/bin/pvio-ctl \
		   $(BUILD)/tests/test-backend $(BUILD)/tests/test-frontend
	$(Q)scripts/deps.sh test
	$(Q)PVIO_BUILD=$(BUILD) TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
		scripts/run-tests.sh $(BUILD)/tests/test-backend
	$(Q)PVIO_BUILD=$(BUILD) TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
		PV_TEST_FILTER=blkfront-threads scripts/run-tests.sh $(BUILD)/tests/test-frontend

demo: all
	$(Q)scripts/deps.sh demo
	$(Q)scripts/demo.sh $(BUILD)/bin

# pvio-bench's standard matrix (about 2 minutes) into bench/results/<time>/: docs/benchmarking.md.
bench: all
	$(Q)scripts/deps.sh bench
	$(Q)bench/run-bench.sh $(BUILD)/bin

# pvio's net path against a veth pair, 3 rounds (about 3 minutes): docs/benchmarking.md.
bench-net: all
	$(Q)scripts/deps.sh bench
	$(Q)bench/net-bench.sh $(BUILD)/bin

# Real Xen 4.17 + Linux dom0/domU in QEMU (TCG): see tests/xen/run.sh.  Exit 77: skipped
# (the machine could not provide the Debian packages or QEMU).
xen-check: all
	$(Q)PVIO_BUILD=$(BUILD) bash tests/xen/run.sh

# The README's commands on a freshly bootstrapped Debian 12, in a chroot: see tests/fresh/run.sh.
# Exit 77: skipped (the machine cannot bootstrap).
fresh-check:
	$(Q)bash tests/fresh/run.sh
.PHONY: fresh-check

MAN1 := $(wildcard docs/man/*.1)
MAN8 := $(wildcard docs/man/*.8)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/pvio
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(RING_HEADERS) platform/pv_platform.h $(GRANT_HEADERS) $(DESTDIR)$(PREFIX)/include/pvio/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(MAN8) $(DESTDIR)$(PREFIX)/share/man/man8/
ifneq ($(NBDKIT_PLUGIN),)
	install -d $(DESTDIR)$(PREFIX)/lib/nbdkit/plugins
	install -m 0755 $(NBDKIT_PLUGIN) $(DESTDIR)$(PREFIX)/lib/nbdkit/plugins/
endif
	install -d $(DESTDIR)$(XEN_SCRIPTS)
	install -m 0755 dist/xen/pvio-noop dist/xen/pvio-vif $(DESTDIR)$(XEN_SCRIPTS)/

clean:
	rm -rf build

.PHONY: all check check-threads check-threads-run demo bench bench-net install clean xen-check

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
