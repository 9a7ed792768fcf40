# Quick start: `make demo` (main job on embedded defaults) and `make test` (every test). Both install what they need.
SWIFT ?= swift
PYTHON ?= python3
BIN := .build/debug/treeattn
MPIBIN := .build/debug/treeattn-mpi
# make test runs the Swift tests and the heavy cross-checks (goldens, MPI, validate smoke) on the release build it checks
# for warnings anyway (5x faster than debug here; preconditions, overflow and exclusivity checks stay on in -O), and the
# quick contract checks (oracle, explainer, fuzz, bench parsing: scripts/debug-checks.sh) on the debug build that make
# demo runs, beside the release build.
RBIN := .build/release/treeattn
RMPIBIN := .build/release/treeattn-mpi

.PHONY: setup build demo test docs lint warnings bench fuzz validate validate-two-tier scale-doc golden-all mpi-check clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

# The tour, then the interactive explainer site (open .build/explainer/index.html in a browser).
demo: build
	$(BIN) demo
	@rm -rf .build/explainer
	$(BIN) explain --html .build/explainer

# Every test. The debug and release builds of every target and test must print no warning (scripts/build-checked.sh),
# the sources must be swift-format clean, and every public declaration of the libraries documented with no broken DocC
# link (scripts/check-docs.sh).
test: setup
	bash scripts/build-checked.sh --build-tests
	@# The checks of the debug build (oracles, the explainer in Chromium, fuzz and bench-parsing smokes) run beside the
	@# release build, which leaves a core idle much of the time (scripts/beside.sh; waited for below).
	bash scripts/beside.sh start debug-checks bash scripts/debug-checks.sh $(BIN) $(MPIBIN)
	bash scripts/build-checked.sh -c release --build-tests -Xswiftc -enable-testing
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests Examples
	$(SWIFT) test -c release --skip-build -Xswiftc -enable-testing
	@# The DocC check and the example package run beside the Python checks.
	bash scripts/beside.sh start docs bash scripts/check-docs.sh
	bash scripts/beside.sh start example $(SWIFT) run --package-path Examples/UsingTheLibrary UsingTheLibrary
	bash scripts/golden-check.sh $(RBIN)
	$(PYTHON) python/mpi_check.py --treeattn $(RBIN) --mpi $(RMPIBIN) --ranks 1,2,3,5,8
	bash scripts/validate-smoke.sh $(RMPIBIN)
	bash scripts/beside.sh wait debug-checks docs example

# DocC documentation of every library into .build/docs/<Target> (the same build and checks as make test's).
docs: setup
	$(SWIFT) build
	bash scripts/check-docs.sh
	@echo "serve one with: python3 -m http.server -d .build/docs/Reference  (then open http://localhost:8000/documentation/reference)"

# Formatting: swift format -i --recursive Package.swift Sources Tests Examples fixes what this reports.
lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests Examples

# The two warning checks of make test alone.
warnings: setup
	bash scripts/build-checked.sh --build-tests
	bash scripts/build-checked.sh -c release --build-tests -Xswiftc -enable-testing

# Ten minutes of seeded mutation fuzzing of every parser through the CLI (make test runs 15 s of it).
# Every golden suite of issue 25 in every dtype through the Python client (make test checks them in bf16, with JAX).
golden-all: build
	GOLDEN_ALL_DTYPES=1 bash scripts/golden-check.sh $(BIN)

# The MPI cross-check over every rank count 1..8 (make test runs 1, 2, 3, 5 and 8).
mpi-check: build
	$(SWIFT) build
	$(PYTHON) python/mpi_check.py --treeattn $(BIN) --mpi $(MPIBIN)

fuzz: build
	$(PYTHON) python/fuzz.py --treeattn $(BIN) --treeattn-mpi $(MPIBIN) --seconds $${FUZZ_SECONDS:-600} --seed $${FUZZ_SEED:-1}

bench: setup
	$(SWIFT) build -c release
	.build/release/treeattn bench reference
	$(PYTHON) python/bench_numpy.py --treeattn .build/release/treeattn
	$(PYTHON) python/bench_cli.py --treeattn .build/release/treeattn
	.build/release/treeattn bench simulator
	.build/release/treeattn-mpi bench

# The full validation of the simulator against measured MPI runs (about an hour on 2 cores; needs root for netns).
validate: setup
	$(SWIFT) build -c release
	.build/release/treeattn-mpi validate --out docs/validation.md

# The two-tier validation (issue 26): 2 emulated hosts, Tree two-level vs flat vs Ring, 16 heads of 64 so that the
# partials crossing the 100 Mbit/s links matter (about 10 minutes; root).
validate-two-tier: setup
	$(SWIFT) build -c release
	.build/release/treeattn-mpi validate --networks two-tier --ranks 2,4,8 --heads 16 --head-dim 64 \
	  --two-tier-keys 1024,4096,16384 --out docs/validation-two-tier.md

# docs/scale.md and docs/scale/: Tree vs Ring, pass-partials and gather from 8 to 65,536 GPUs (about 5 minutes).
scale-doc: setup
	$(SWIFT) build -c release
	.build/release/treeattn scale --out docs

clean:
	rm -rf .build Examples/UsingTheLibrary/.build
