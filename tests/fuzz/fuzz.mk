# tests/fuzz/fuzz.mk - libFuzzer targets, included by the Makefile.
#
#   make fuzz                 each fuzzer for FUZZ_SECONDS (600) under ASan + UBSan
#   make fuzz FUZZ=xsd        one of them
#   make check                each for FUZZ_CHECK_SECONDS (20); with SANITIZE=1 the corpus
#                             (seeds and committed regression inputs) is only replayed
#
# libFuzzer comes with clang, so the fuzzers are always built by clang, whatever CC is, from
# their own objects in $(BUILD)/fuzz/ (coverage instrumentation on the code under test).
# scripts/deps.sh test installs clang when it is missing: the fuzzers are never skipped.

FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 600
ifeq ($(SANITIZE),1)
FUZZ_CHECK_SECONDS ?= 0
else
FUZZ_CHECK_SECONDS ?= 20
endif
FUZZ_NAMES := disk vif xsd simhv blkback blkfront
FUZZ       ?= $(FUZZ_NAMES)
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_BINS  := $(addprefix $(FUZZ_DIR)/bin/fuzz-,$(FUZZ_NAMES))
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := $(filter-out $(SANFLAGS),$(PV_CFLAGS)) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -O1 -g
FUZZ_INC   := -Itests/fuzz -Itests/lib -Isim -Isim/xsd -Ibackend -Ifrontend -Ixenstore-tools

FUZZ_DEPS_STAMP := $(BUILD)/.fuzz-deps-ok
$(FUZZ_DEPS_STAMP): scripts/deps.sh
	$(Q)scripts/deps.sh test
	$(Q)mkdir -p $(@D) && touch $@

$(FUZZ_DIR)/%.o: %.c | $(FUZZ_DEPS_STAMP)
	$(vecho) FUZZCC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(EXTRA_CFLAGS_$<) $(if $(filter tests/fuzz/%,$<),$(FUZZ_INC)) \
		-MMD -MP -c -o $@ $<

fuzz_objs = $(patsubst %.c,$(FUZZ_DIR)/%.o,$(1))

FUZZ_OBJS_disk := $(call fuzz_objs,tests/fuzz/fuzz_disk.c xenstore-tools/pv_ctl_disk.c)
FUZZ_OBJS_vif  := $(call fuzz_objs,tests/fuzz/fuzz_vif.c xenstore-tools/pv_ctl_vifspec.c)
FUZZ_OBJS_xsd  := $(call fuzz_objs,tests/fuzz/fuzz_xsd.c $(wildcard sim/xsd/*.c common/*.c))
FUZZ_OBJS_simhv := $(call fuzz_objs,tests/fuzz/fuzz_simhv.c \
	$(filter-out sim/pvio-simd.c,$(wildcard sim/*.c)) $(wildcard sim/xsd/*.c common/*.c))
FUZZ_OBJS_blkback := $(call fuzz_objs,tests/fuzz/fuzz_blkback.c tests/fuzz/fake_plat.c platform/pv_xs_fmt.c \
	$(filter-out backend/pvio-backd.c,$(wildcard backend/*.c)) $(wildcard common/*.c grant/*.c))
FUZZ_LIBS_blkback := -luring
FUZZ_OBJS_blkfront := $(call fuzz_objs,tests/fuzz/fuzz_blkfront.c tests/fuzz/fake_plat.c platform/pv_xs_fmt.c \
	$(wildcard frontend/*.c grant/*.c))

define fuzz_prog
$(FUZZ_DIR)/bin/fuzz-$(1): $(FUZZ_OBJS_$(1))
	$$(vecho) FUZZLD $$@
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(FUZZ_LIBS_$(1))
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call fuzz_prog,$(n))))

fuzz: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_DIR) $(FUZZ)

fuzz-check: $(FUZZ_BINS)
	$(Q)PVIO_FUZZ_SEED=1 tests/fuzz/run.sh $(FUZZ_CHECK_SECONDS) $(FUZZ_DIR) $(FUZZ_NAMES)

.PHONY: fuzz fuzz-check
