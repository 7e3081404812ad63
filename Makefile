# parley — build with `make`; the binary lands at build/parley.
#   make            release build (-O2)
#   make SAN=1      ASan+UBSan build into build-san/
#   make test       unit + fuzz-corpus replay + integration tests (see tests/run.sh)
#   make fuzz       libFuzzer binaries (clang) into build-fuzz/
#   make bench      10-minute generated conversation: RTF per stage, peak RSS
#   make bench-accuracy  DER, speaker count, WER, keyword F1 on generated sets (ACC_N per condition) and real recordings
#   make bench-real   diarization DER and speaker counts on the real recordings in ../shared/data
#   make bench-real-words  WER per real source and target false alarms per hour of real speech
#   make bench-ivr    call events on 100 generated calls (precision/recall, edges), false events in real speech
#   make bench-keywords  target verification trade-off: real false alarms vs generated recall
#   make bench-queue  queue throughput beside Celery, RQ, BullMQ, graphile-worker
#   make bench-http   parley serve: req/s and p50/p99 for status polls and chunk uploads, 50 clients
#   make bench-calls  channel diarization and call metrics: RTF and accuracy on generated calls
#   make bench-engines  remote speech-to-text: stt wall time, 100 turns, 0.5 s server, concurrency 1 vs 8
#   make bench-denoise  WER, target-word F1, DER with the denoise stage off and on, noise at 0/5/10 dB
#   make bench-audit  call audits: 10,000 calls (answers, verdicts) and a reaudit, PostgreSQL + Redis and SQLite
#   make torture    every allocation and file-I/O fail point failed in turn (ASan)
#   make chaos      kill -9 workers mid-batch on SQLite and PostgreSQL + Redis
#   make soak       the chaos test, 10x longer
#   make multihost  three network namespaces (db, two worker hosts): a partition and a PostgreSQL restart mid-batch (root)
#   make lexicon    regenerate src/text/lexicon_singlish.c from data/lexicon/singlish.lex
#   make install    binary, man pages, units, example settings (PREFIX=/usr/local, DESTDIR=)
#   make uninstall  remove them again
#   make dist       source tarball of HEAD that still knows its git revision
#   make clean

PKGS := libavformat libavcodec libavutil libswresample pocketsphinx sphinxbase \
        speexdsp webrtc-audio-processing sqlite3 jansson libpq hiredis libmicrohttpd libcurl libebur128

CC      ?= cc
SAN     ?= 0
ifeq ($(SAN),1)
BUILD   ?= build-san
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN   := -fsanitize=address,undefined
else
BUILD   ?= build
OPT     := -O2 -g
LDSAN   :=
endif

# Library headers as -isystem so their warnings do not fail -Werror.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) | sed 's/-I/-isystem /g')
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

# Unsafe C functions are compile errors in every compile (git's banned.h idea).
BANNED  := -include src/util/banned.h
WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wvla -Wno-unused-parameter -Wno-format-truncation -Werror
CFLAGS  := -std=c17 -D_GNU_SOURCE $(BANNED) $(OPT) $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP $(EXTRA_CFLAGS)
CXXFLAGS:= -std=c++14 $(BANNED) $(OPT) -Wall -Wextra -Werror $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lstdc++ -lpthread -lm

LIB_SRC := $(shell find src -name '*.c' ! -path 'src/cli/main.c' | sort)
CXX_SRC := $(shell find src -name '*.cc' | sort)
# The web page (web/static/) compiled into the binary: one generated C file.
WEB_ASSETS := $(sort $(shell find web/static -type f 2>/dev/null))
GEN_SRC := $(BUILD)/gen/web_assets.c
# The git revision `parley --version` prints (scripts/revision.sh: git, or
# .git-revision in a tarball), baked into one generated C file.
PARLEY_REV := $(shell sh scripts/revision.sh)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(CXX_SRC:%.cc=$(BUILD)/obj/%.o) \
           $(BUILD)/obj/gen/web_assets.o $(BUILD)/obj/gen/version.o
MAIN_OBJ:= $(BUILD)/obj/src/cli/main.o

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay_%)

.PHONY: all install uninstall man dist torture test unit fuzz bench bench-calls bench-accuracy bench-real bench-keywords bench-kw-tune bench-real-words bench-ivr bench-queue bench-abuse bench-http bench-engines bench-denoise bench-audit bench-dashboard chaos soak multihost clean tools lexicon
all: $(BUILD)/parley

$(BUILD)/libparley.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	@echo "  AR $@"
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/parley: $(MAIN_OBJ) $(BUILD)/libparley.a
	@echo "  LD $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(GEN_SRC): $(WEB_ASSETS) web/static scripts/gen-web-assets.py
	@mkdir -p $(@D)
	@echo "  GEN $@"
	@python3 scripts/gen-web-assets.py web/static $@

# Rewritten only when the revision changes, so a rebuild relinks only then.
$(BUILD)/gen/version.c: FORCE
	@mkdir -p $(@D)
	@printf 'const char parley_revision[] = "%s";\n' '$(PARLEY_REV)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; echo "  GEN $@ ($(PARLEY_REV))"; fi
FORCE:

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(@D)
	@echo "  CXX $<"
	@$(CXX) $(CXXFLAGS) -Isrc -c -o $@ $<

# Unit tests: one cmocka binary per tests/unit/test_*.c
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libparley.a
	@mkdir -p $(@D)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libparley.a $(LDSAN) $(LDLIBS) -lcmocka

# Fuzz targets replayed over their corpus with a plain driver (normal test run)
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(BUILD)/libparley.a
	@mkdir -p $(@D)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay_main.c $(BUILD)/libparley.a $(LDSAN) $(LDLIBS)

# Test binaries linked with parley's allocations through util/fail.h's seam.
FAIL_ALLOC_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup

# parley-test: the parley command plus test-only hooks (tests/support/
# parley_test.c: PARLEY_TEST_FAULTS, PARLEY_TORTURE_FAIL_AT); main.c again,
# its main renamed. The parley binary itself reads no test variable.
$(BUILD)/obj/tests/cli_main.o: src/cli/main.c
	@mkdir -p $(@D)
	@echo "  CC $< (as parley_cli_main)"
	@$(CC) $(CFLAGS) -Dmain=parley_cli_main -c -o $@ $<

$(BUILD)/tests/parley-test: tests/support/parley_test.c tests/support/fail_alloc.c tests/support/fail_alloc.h \
		$(BUILD)/obj/tests/cli_main.o $(BUILD)/libparley.a
	@mkdir -p $(@D)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -o $@ tests/support/parley_test.c tests/support/fail_alloc.c \
	  $(BUILD)/obj/tests/cli_main.o $(BUILD)/libparley.a $(LDSAN) $(LDLIBS) $(FAIL_ALLOC_WRAP)

# make torture: every fail point of each scenario made to fail in turn
# (tests/torture/torture.c), in the ASan build so leaks are found too.
$(BUILD)/tests/torture: tests/torture/torture.c tests/support/fail_alloc.c tests/support/fail_alloc.h $(BUILD)/libparley.a
	@mkdir -p $(@D)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Itests -o $@ tests/torture/torture.c tests/support/fail_alloc.c \
	  $(BUILD)/libparley.a $(LDSAN) $(LDLIBS) $(FAIL_ALLOC_WRAP)

torture:
	$(MAKE) SAN=1 build-san/tests/torture
	build-san/tests/torture $(TORTURE_ARGS)

tools: $(BUILD)/parley $(UNIT_BIN) $(REPLAY_BIN) $(BUILD)/tests/parley-test $(BUILD)/tests/torture

test:
	bash tests/run.sh

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

# libFuzzer binaries (clang): make fuzz; then build-fuzz/fuzz_<name> tests/fuzz/corpus/<name>
fuzz:
	$(MAKE) CC=clang BUILD=build-fuzz SAN=0 EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address -Wno-unknown-warning-option" build-fuzz/libparley.a
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "clang $$n"; \
	  clang -std=c17 -D_GNU_SOURCE $(BANNED) -g -O1 -Isrc $(PKG_CFLAGS) -fsanitize=fuzzer,address -o build-fuzz/$$n $$f build-fuzz/libparley.a $(LDLIBS) || exit 1; done

bench: $(BUILD)/parley
	bash bench/bench_pipeline.sh

# Accuracy on generated sets {2,3,4,6 speakers} x {clean, 10 dB pink noise,
# telephone 8 kHz}, ACC_N conversations each (default 50), plus the real
# recordings in ../shared/data; writes build/bench-accuracy.json (not a test)
bench-accuracy: $(BUILD)/parley
	bash bench/bench_accuracy.sh

# Target-word verification: false alarms per hour on real target-free speech
# (../shared/data, Debian's asterisk prompts held out) against recall on
# generated conversations, clean and 10 dB, for a sweep of verify_min_llr
bench-keywords: $(BUILD)/parley
	bash bench/bench_keywords.sh

# Choose keyword_weight, verifier, PASS and MIN on a tuning half of the real
# target-free sets, all asterisk prompts and generated conversations, and
# report them held out (bench/kw_tune.sh; ~15 min per weight, not a test)
bench-kw-tune: $(BUILD)/parley
	bash bench/kw_tune.sh

# WER per real source and target false alarms per hour per source, with the
# shipped defaults (also run at the end of bench-real)
bench-real-words: $(BUILD)/parley
	bash bench/bench_real_words.sh

# The ivr stage: precision/recall and edge error per event kind on IVR_N (100)
# generated calls, false events per hour of real speech, music found in real
# music on hold, RTF
bench-ivr: $(BUILD)/parley
	bash bench/bench_ivr.sh

# 10,000 recordings x 6 no-op stages on SQLite and PostgreSQL + Redis, beside
# Celery, RQ, BullMQ and graphile-worker doing the same no-op jobs (not a test)
# Diarization on every real recording with speaker turns in ../shared/data
# (AMI excerpts inside their .uem, pyannote, Picovoice) and the real
# call-centre call; writes build/bench-real.json (not a test)
bench-real: $(BUILD)/parley
	bash bench/bench_real.sh

# channel diarization and call metrics on generated calls (tests/gen/gen_call.py)
bench-calls: $(BUILD)/parley
	bash bench/bench_calls.sh

bench-queue: $(BUILD)/parley
	bash bench/bench_queue.sh

# parley serve under the abuse probes (tests/integration/abuse_client.py):
# VmHWM before/after and /health p50/p99 per probe (about a minute; not a test)
bench-abuse: $(BUILD)/parley
	bash bench/bench_abuse.sh

# parley serve under load: 50 clients polling status, then 50 uploading
# chunks, while its worker processes sessions (loopback, ~1.5 min; not a test)
$(BUILD)/bench/http_load: bench/http_load.c
	@mkdir -p $(@D)
	@echo "  CC $<"
	@$(CC) -std=c17 -D_GNU_SOURCE $(BANNED) -O2 $(WARN) -o $@ $< -lpthread

bench-http: $(BUILD)/parley $(BUILD)/bench/http_load
	bash bench/bench_http.sh

# A remote speech-to-text server answering in 0.5 s per request: the stt
# stage's wall time on a 100-turn recording with 1 and 8 requests in flight
# (tests/servers/fake_engines.py; about 2 minutes; not a test)
# The denoise stage (speex) off vs on: WER, target-word F1 and DER on
# generated 2-speaker conversations in pink noise at 0, 5, 10 dB SNR
bench-denoise: $(BUILD)/parley
	bash bench/bench_denoise.sh

bench-engines: $(BUILD)/parley
	bash bench/bench_engines.sh

# issue 14: K calls through the full audit pipeline, then BENCH_AUDIT_N (10000)
# recordings through answers,verdicts on copies of their rows, and a reaudit;
# writes build/bench-audit.json (not a test)
bench-audit: $(BUILD)/parley
	bash bench/bench_audit.sh

# The dashboard's batch page over 10,000 results in Chromium: time to first
# render, paging, sorting, filtering (tests/browser/bench_dashboard.mjs).
bench-dashboard: $(BUILD)/parley $(BUILD)/tests/parley-test
	DASH_TESTS=bench_dashboard.mjs bash tests/browser/dashboard.sh

# Workers killed with SIGKILL every 1-2 s during a 2,000-recording batch, on
# SQLite, on PostgreSQL + Redis, and with both servers restarted mid-batch
chaos: $(BUILD)/parley
	@for m in sqlite pg-redis pg-redis-restart; do bash tests/chaos/chaos.sh $$m 2000 || exit 1; done

# The same, longer: 20,000 recordings per backend (about 10-20 minutes)
soak: $(BUILD)/parley
	@for m in sqlite pg-redis pg-redis-restart; do \
	  CHAOS_DEADLINE=3600 bash tests/chaos/chaos.sh $$m 20000 0.002 || exit 1; done

# Many hosts on one machine (root: ip netns): PostgreSQL + Redis in one
# network namespace, a worker host in each of two others; one host cut off
# mid-batch and brought back, then a PostgreSQL restart (600 recordings)
multihost: $(BUILD)/parley $(BUILD)/tests/parley-test
	@bash tests/multihost/multihost.sh 600 0.2

# Regenerate the built-in lexicon's C string from data/lexicon/singlish.lex
lexicon:
	python3 scripts/gen-lexicon-c.py

# ---- install (make install PREFIX=/usr/local DESTDIR=/tmp/pkg) ----
# The binary, man pages made from --help (scripts/gen-man.py), the example
# settings, the systemd units with their paths filled in, the sysusers.d
# entry, and the docs (operations notes, Prometheus alert rules). The
# settings file is installed only where none exists (yours is kept).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/parley
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL     ?= install
UNITS       := parley-serve.service parley-worker@.service
DOCS        := README.md docs/api.md docs/operations.md
EXAMPLES    := packaging/parley.conf packaging/prometheus/parley-alerts.yml

man: $(BUILD)/man/parley.1
$(BUILD)/man/parley.1: $(BUILD)/parley scripts/gen-man.py
	@mkdir -p $(@D)
	@echo "  MAN $(@D)/"
	@rm -f $(@D)/*.1 && python3 scripts/gen-man.py $(BUILD)/parley $(@D)

# The units name the install paths (BINDIR, SYSCONFDIR), filled in here.
install: $(BUILD)/parley man
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)/examples \
	  $(DESTDIR)$(SYSCONFDIR)/parley $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 0755 $(BUILD)/parley $(DESTDIR)$(BINDIR)/parley
	$(INSTALL) -m 0644 $(BUILD)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	@for u in $(UNITS); do echo "sed packaging/systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u"; \
	  sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/systemd/$$u.in \
	    >$(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	$(INSTALL) -m 0644 packaging/systemd/parley.sysusers $(DESTDIR)$(SYSUSERSDIR)/parley.conf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/parley/parley.conf ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/parley/parley.conf (the example is in $(DOCDIR)/examples/)"; \
	else $(INSTALL) -m 0644 packaging/parley.conf $(DESTDIR)$(SYSCONFDIR)/parley/parley.conf; fi

# Removes what install wrote; the settings file only when it is unchanged.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/parley $(DESTDIR)$(MANDIR)/man1/parley.1 \
	  $(DESTDIR)$(MANDIR)/man1/parley-*.1 $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	  $(DESTDIR)$(SYSUSERSDIR)/parley.conf
	rm -rf $(DESTDIR)$(DOCDIR)
	@if cmp -s packaging/parley.conf $(DESTDIR)$(SYSCONFDIR)/parley/parley.conf; then \
	  rm -f $(DESTDIR)$(SYSCONFDIR)/parley/parley.conf; \
	  rmdir $(DESTDIR)$(SYSCONFDIR)/parley 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/parley/parley.conf ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/parley/parley.conf (changed since install)"; fi

# A source tarball of HEAD (git archive fills in .git-revision, so a build
# from it still knows its revision): build/parley-REV.tar.gz
dist:
	@mkdir -p build
	git archive --format=tar.gz --prefix=parley-$(PARLEY_REV)/ -o build/parley-$(PARLEY_REV).tar.gz HEAD
	@echo "build/parley-$(PARLEY_REV).tar.gz"

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
