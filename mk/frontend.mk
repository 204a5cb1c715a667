# mk/frontend.mk -- the frontend build: the shared half of every part
# (FE_SHARED_<part>) compiled with -DFRONTEND into build/fe/, the pg_dr CLI
# and the C unit tests.
# Included by the top-level Makefile after PGXS (variables are FE_* so they
# never collide with PGXS's own).

BUILD		?= build
PG_CONFIG	?= pg_config
FE_CC		?= gcc

FE_INCLUDE_SERVER := $(shell $(PG_CONFIG) --includedir-server)
FE_INCLUDE	:= $(shell $(PG_CONFIG) --includedir)
FE_PKGLIBDIR	:= $(shell $(PG_CONFIG) --pkglibdir)
FE_LIBDIR	:= $(shell $(PG_CONFIG) --libdir)

FE_WARN		= -Wall -Wextra -Werror -Wmissing-prototypes -Wpointer-arith \
		  -Wdeclaration-after-statement -Werror=vla -Wendif-labels \
		  -Wimplicit-fallthrough=3 -Wformat-security -Wno-unused-parameter
FE_CFLAGS	= -O2 -g -fno-strict-aliasing -fwrapv -D_GNU_SOURCE $(FE_WARN) \
		  -DFRONTEND -Isrc -I$(FE_INCLUDE_SERVER) -I$(FE_INCLUDE) \
		  $(FE_SANITIZE)
FE_LDFLAGS	= $(FE_SANITIZE)
FE_LIBS		= -L$(FE_PKGLIBDIR) -lpgcommon -lpgport -L$(FE_LIBDIR) -lpq \
		  -lzstd -lcrypto -lcurl -lm -lpthread

# make unit SANITIZE=1 builds the frontend with ASan and UBSan
ifdef SANITIZE
FE_SANITIZE	= -fsanitize=address,undefined -fno-omit-frame-pointer
endif

# The shared half of each part, chosen by file: what runs in the CLI and is
# unit tested without a server.  A part's other files are its server half
# (extension only).  docs/architecture.md says what each file is for.
# FE_ONLY_SRCS (set in the Makefile, before PGXS) are in a shared half but
# never in the extension: restore/restore_jobs_fork.c, the CLI's fork()
# launcher of restore jobs (the server's launcher will start workers).
FE_SHARED_common	= $(wildcard src/common/*.c)
FE_SHARED_storage	= $(wildcard src/storage/*.c src/storage/*/*.c)
FE_SHARED_repo		= $(wildcard src/repo/*.c)
FE_SHARED_restore	= $(wildcard src/restore/*.c)
FE_SHARED_backup	= src/backup/backup_verify.c src/backup/backup_kind.c
FE_SHARED_archive	= src/archive/wal_verify.c src/archive/wal_summary.c
FE_SHARED_pitr		= src/pitr/pitr_decide.c
FE_SHARED_ops		= src/ops/duty_schedule.c src/ops/retention.c \
			  src/ops/catchup_decide.c src/ops/alert_decide.c \
			  src/ops/rto_model.c src/ops/objectives_verdict.c \
			  src/ops/objectives_availability.c src/ops/schedule_decide.c
FE_SHARED_ha		= src/ha/ha_decide.c src/ha/ha_conninfo.c src/ha/etcd.c src/ha/etcd_json.c \
			  src/ha/ha_watch_decide.c src/ha/ha_rejoin.c
FE_LIB_SRCS	= $(sort $(foreach part,common storage repo restore backup archive pitr ops ha,\
		  $(FE_SHARED_$(part))))
FE_LIB_OBJS	= $(patsubst src/%.c,$(BUILD)/fe/%.o,$(FE_LIB_SRCS))
FE_LIB		= $(BUILD)/libpgdr_fe.a

CLI_SRCS	= $(sort $(wildcard src/bin/*.c))
CLI_OBJS	= $(patsubst src/%.c,$(BUILD)/fe/%.o,$(CLI_SRCS))
CLI		= $(BUILD)/pg_dr

UNIT_SRCS	= $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS	= $(patsubst test/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

# Programs the TAP scenarios run (test/tools/), never installed
TEST_TOOL_SRCS	= $(sort $(wildcard test/tools/*.c))
TEST_TOOLS	= $(patsubst test/tools/%.c,$(BUILD)/test/%,$(TEST_TOOL_SRCS))

FUZZ_SRCS	= $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS	= $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fe/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FE_CC) $(FE_CFLAGS) -MMD -MP -c $< -o $@

$(FE_LIB): $(FE_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(CLI): $(CLI_OBJS) $(FE_LIB)
	$(FE_CC) $(FE_LDFLAGS) -o $@ $(CLI_OBJS) $(FE_LIB) $(FE_LIBS)

$(BUILD)/unit/%: test/unit/%.c test/unit/tap.h test/unit/test_support.h $(FE_LIB)
	@mkdir -p $(dir $@)
	$(FE_CC) $(FE_CFLAGS) -Itest/unit $(FE_LDFLAGS) -o $@ $< $(FE_LIB) $(FE_LIBS)

$(BUILD)/test/%: test/tools/%.c $(FE_LIB)
	@mkdir -p $(dir $@)
	$(FE_CC) $(FE_CFLAGS) $(FE_LDFLAGS) -o $@ $< $(FE_LIB) $(FE_LIBS)

# libFuzzer targets need clang; built only by "make fuzz"
$(BUILD)/fuzz/%: test/fuzz/%.c $(FE_LIB_SRCS)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -DFRONTEND -D_GNU_SOURCE \
	  -Isrc -I$(FE_INCLUDE_SERVER) -I$(FE_INCLUDE) -o $@ $< $(FE_LIB_SRCS) \
	  -L$(FE_PKGLIBDIR) -lpgcommon -lpgport -lzstd -lcrypto -lcurl -lm

# Fuzz targets the unit suite runs too, without libFuzzer: driven by the
# random mutations of test/fuzz/fuzz_mutate.c for a fixed number of inputs,
# built with gcc under ASan and UBSan (the code under test compiled in
# with them: FUZZ_SMOKE_SRCS_<target>; the rest from FE_LIB).
FUZZ_SMOKE	= $(BUILD)/fuzz-smoke/fuzz_s3_response $(BUILD)/fuzz-smoke/fuzz_azure_response \
		  $(BUILD)/fuzz-smoke/fuzz_s3_sts $(BUILD)/fuzz-smoke/fuzz_etcd_json
FUZZ_SMOKE_SRCS_fuzz_s3_response = src/storage/s3/s3_xml.c src/storage/s3/s3_response.c
FUZZ_SMOKE_SRCS_fuzz_azure_response = src/storage/s3/s3_xml.c src/storage/azure/azure_response.c
FUZZ_SMOKE_SRCS_fuzz_s3_sts = src/storage/s3/s3_xml.c src/storage/s3/s3_response.c \
		  src/storage/s3/s3_sts.c
FUZZ_SMOKE_SRCS_fuzz_etcd_json = src/common/json.c src/ha/etcd_json.c
FUZZ_SMOKE_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
		  -fno-omit-frame-pointer

$(BUILD)/fuzz-smoke/fuzz_s3_response: $(FUZZ_SMOKE_SRCS_fuzz_s3_response) \
		  src/storage/s3/s3_xml.h src/storage/s3/s3_response.h
$(BUILD)/fuzz-smoke/fuzz_azure_response: $(FUZZ_SMOKE_SRCS_fuzz_azure_response) \
		  src/storage/s3/s3_xml.h src/storage/azure/azure_response.h
$(BUILD)/fuzz-smoke/fuzz_s3_sts: $(FUZZ_SMOKE_SRCS_fuzz_s3_sts) \
		  src/storage/s3/s3_xml.h src/storage/s3/s3_response.h src/storage/s3/s3_sts.h
$(BUILD)/fuzz-smoke/fuzz_etcd_json: $(FUZZ_SMOKE_SRCS_fuzz_etcd_json) \
		  src/common/json.h src/ha/etcd.h
$(BUILD)/fuzz-smoke/%: test/fuzz/%.c test/fuzz/fuzz_mutate.c test/fuzz/fuzz_mutate.h $(FE_LIB)
	@mkdir -p $(dir $@)
	$(FE_CC) $(filter-out $(FE_SANITIZE),$(FE_CFLAGS)) $(FUZZ_SMOKE_FLAGS) -Itest/fuzz \
	  -o $@ $< test/fuzz/fuzz_mutate.c $(FUZZ_SMOKE_SRCS_$*) $(FE_LIB) $(FE_LIBS)

-include $(FE_LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)

.PHONY: cli unit unit-build test-tools fuzz fuzz-smoke install-cli

cli: $(CLI)

unit-build: $(UNIT_BINS) $(FUZZ_SMOKE) $(TEST_TOOLS)

test-tools: $(TEST_TOOLS)

fuzz-smoke: $(FUZZ_SMOKE)

# C unit tests and the fuzz smoke runs, TAP output, run by prove; then the
# include rules
unit: $(UNIT_BINS) $(FUZZ_SMOKE) $(TEST_TOOLS)
	prove --exec '' $(UNIT_BINS) $(FUZZ_SMOKE)
	prove --exec sh test/unit/check_layout.sh

fuzz: $(FUZZ_BINS)
