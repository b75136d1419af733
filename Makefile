# Ravelin: the two commands are `make run` and `make test`.
#   make run    install what is missing, build, start on the embedded defaults
#   make test   unit tests, lint, integration tests, fuzz smoke (ASan+UBSan)
#   make fuzz   longer fuzzing runs (FUZZ_SECONDS each, default 300; FUZZ_JOBS
#               targets at once, default 2)
#   make bench  benchmarks against the peers Debian ships (not a test)
PYTHON      ?= /usr/bin/python3
FUZZ_SMOKE  ?= 5
FUZZ_SECONDS ?= 300
MESON_TEST_FLAGS = -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

.PHONY: all build run test unit lint integration fuzz-smoke fuzz bench clean deps deps-test

all: build

deps:
	@./scripts/install-deps build

deps-test:
	@./scripts/install-deps test

build: deps
	@[ -f build/build.ninja ] || meson setup build
	@ninja -C build

run: build
	./build/ravelin serve

build-test/build.ninja:
	meson setup build-test $(MESON_TEST_FLAGS)

build-fuzz/build.ninja:
	CC=clang-14 meson setup build-fuzz -Dfuzz=true -Dunit_tests=disabled -Db_lundef=false -Dbuildtype=debug

test: deps-test build-test/build.ninja build-fuzz/build.ninja
	ninja -C build-test
	$(MAKE) --no-print-directory lint unit integration fuzz-smoke

lint:
	@./scripts/lint

unit:
	meson test -C build-test --suite unit --print-errorlogs

# Integration test files run in TEST_JOBS processes at once (pytest-xdist;
# a file's tests stay together, TEST_JOBS=1 runs them one after another).
# Two at once on two cores took 17 min instead of 25; the tests bound CPU
# time, not the clock, or scale a clock bound by a read measured in the
# same test, and wait for what they read, so a loaded machine does not
# fail them.  Files that bind fixed addresses take a lock (conftest.py).
TEST_JOBS ?= 2
integration:
	RAVELIN_BIN=$(CURDIR)/build-test/ravelin $(PYTHON) -m pytest -q $(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile) tests

fuzz-smoke:
	ninja -C build-fuzz
	./scripts/fuzz-run $(FUZZ_SMOKE)

fuzz: deps-test build-fuzz/build.ninja
	ninja -C build-fuzz
	./scripts/fuzz-run $(FUZZ_SECONDS)

bench: build
	@./scripts/install-deps bench
	./bench/smtp-in
	./bench/imap
	./bench/smtp-out
	./bench/dav

clean:
	rm -rf build build-test build-fuzz
