# pg_dr -- disaster recovery for PostgreSQL, as an extension and a CLI.
#
#   make                 extension (pg_dr.so) and CLI (build/pg_dr)
#   make install         both (the CLI into the PostgreSQL bindir and a link
#                        in /usr/local/bin)
#   make unit            C unit tests (TAP, prove)
#   make installcheck    pg_regress suite on a temporary cluster, then the
#                        TAP scenarios (t/*.pl)
#   make regresscheck    the pg_regress suite alone
#   make tapcheck        the TAP scenarios alone (PROVE_TESTS='t/002*.pl')
#   test/run_all.sh      everything, as CI runs it (see README.md)

EXTENSION	= pg_dr
MODULE_big	= pg_dr
DATA		= $(wildcard sql/pg_dr--*.sql)
PGFILEDESC	= "pg_dr - disaster recovery for PostgreSQL"

# Every source file but the CLI's is compiled into the extension.  The
# shared half of each part (what the CLI and the unit tests compile too) is
# listed per part in mk/frontend.mk.  FE_ONLY_SRCS are files of a part's
# shared half that the extension must not compile (a server process does
# not fork): defined here, before PGXS reads OBJS; mk/frontend.mk says more.
FE_ONLY_SRCS	= src/restore/restore_jobs_fork.c
EXT_SRCS	= $(sort $(filter-out src/bin/% $(FE_ONLY_SRCS),$(wildcard src/*.c src/*/*.c src/*/*/*.c)))
OBJS		= $(EXT_SRCS:.c=.o)

PG_CPPFLAGS	= -Isrc -I$(includedir)
# -Wunused-parameter is off: PostgreSQL's own headers trip it (as PostgreSQL
# itself builds without it)
PG_CFLAGS	= -Wall -Wextra -Werror -Wno-unused-parameter
# libcurl: the HTTP layer; src/storage/http/http.c says why linking it into
# a preloaded library is safe and where it is initialized
# libpq: the HA worker's checks of its peers (src/ha/ha_peer.c), as
# dblink and postgres_fdw link it.  libmicrohttpd: the metrics endpoint,
# run without threads of its own (src/api/metrics_http.c)
SHLIB_LINK	= -lzstd -lcrypto -lcurl -lpq -lmicrohttpd

# pg_regress: sql in test/sql, expected output in expected/ (test/expected
# is a link to it), on a temporary cluster with the library preloaded.
REGRESS		= $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS	= --inputdir=test --outputdir=test \
		  --temp-instance=test/tmp_check --temp-config=test/regress.conf
TAP_TESTS	= 1

EXTRA_CLEAN	= build test/results test/regression.diffs test/regression.out \
		  test/tmp_check tmp_check

PG_CONFIG	?= pg_config
PGXS		:= $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# the database named by pg_dr.database in test/regress.conf (after PGXS,
# which sets its own default)
CONTRIB_TESTDB	= pg_dr_regress

include mk/frontend.mk

all: $(CLI)

# Every source file depends on every header: headers are few and a stale
# object after a header change is worse than a full rebuild.
$(OBJS): $(wildcard src/*.h src/*/*.h src/*/*/*.h)

.PHONY: regresscheck tapcheck
regresscheck:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
tapcheck: $(TEST_TOOLS)
	$(prove_installcheck)
# the TAP scenarios run test programs (build/test/, mk/frontend.mk)
installcheck: $(TEST_TOOLS)

PG_DR_LINK_DIR	?= /usr/local/bin

install: install-cli
install-cli: $(CLI)
	$(INSTALL_PROGRAM) $(CLI) '$(DESTDIR)$(bindir)/pg_dr'
	@if [ -z "$(DESTDIR)" ] && [ -d '$(PG_DR_LINK_DIR)' ] && [ -w '$(PG_DR_LINK_DIR)' ]; then \
		ln -sf '$(bindir)/pg_dr' '$(PG_DR_LINK_DIR)/pg_dr'; \
	fi
