# lkworker entry point. `make run` sets up, builds and runs the demo;
# `make check` sets up, builds and runs every test; `make bench` measures.
# The real build is autotools, out of tree in build/ (build-asan/ for the
# sanitizer run).
BUILD     ?= build
ASAN_BUILD ?= build-asan
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all setup run check check-asan bench clean distclean format-check

all: setup $(BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(BUILD) -j$(JOBS)

setup:
	@scripts/setup.sh

configure: configure.ac Makefile.am $(wildcard */local.mk src/*/*.mk tests/*/local.mk)
	autoreconf -fi >/dev/null

$(BUILD)/Makefile: configure
	@mkdir -p $(BUILD)
	cd $(BUILD) && $(CURDIR)/configure -q

$(ASAN_BUILD)/Makefile: configure
	@mkdir -p $(ASAN_BUILD)
	cd $(ASAN_BUILD) && $(CURDIR)/configure -q --enable-asan --enable-ubsan

run: all
	@scripts/demo.sh $(BUILD)

check: all
	@scripts/check.sh $(BUILD) $(JOBS)

check-asan: setup $(ASAN_BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(ASAN_BUILD) -j$(JOBS)
	@scripts/check.sh $(ASAN_BUILD) $(JOBS)

bench: all
	@scripts/bench.sh $(BUILD)

format-check:
	@scripts/format-check.sh

clean:
	@[ ! -f $(BUILD)/Makefile ] || $(MAKE) -C $(BUILD) clean

distclean:
	rm -rf $(BUILD) $(ASAN_BUILD) autom4te.cache build-aux configure config.h.in \
		aclocal.m4 Makefile.in
