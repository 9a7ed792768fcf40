# Quick start: `make demo` (main job on embedded defaults) and `make test` (every test). Both install what they need.
SWIFT ?= swift
PYTHON ?= python3
BIN := .build/debug/treeattn
MPIBIN := .build/debug/treeattn-mpi

.PHONY: setup build demo test bench fuzz validate scale-doc clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

demo: build
	$(BIN) demo

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(SWIFT) run --package-path Examples/UsingTheLibrary UsingTheLibrary
	$(PYTHON) python/oracle_check.py --treeattn $(BIN)
	$(PYTHON) python/backward_check.py --treeattn $(BIN)
	bash scripts/golden-check.sh $(BIN)
	$(PYTHON) python/mpi_check.py --treeattn $(BIN) --mpi $(MPIBIN)
	bash scripts/validate-smoke.sh $(MPIBIN)
	$(PYTHON) python/fuzz.py --treeattn $(BIN) --treeattn-mpi $(MPIBIN) --seconds 15
	@# make bench's Python scripts on tiny shapes (debug build: the ratios mean nothing, the parsing of every result
	@# kind the CLI prints is what is checked).
	$(PYTHON) python/bench_numpy.py --treeattn $(BIN) --repeats 1 -- --seq 64 --heads 1 --decode-log2-keys 12 --timing-keys 4096 >/dev/null
	$(PYTHON) python/bench_cli.py --treeattn $(BIN) --log2-keys 10 --repeats 1 >/dev/null

# Ten minutes of seeded mutation fuzzing of every parser through the CLI (make test runs 20 s of it).
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

# docs/scale.md and docs/scale/: Tree vs Ring, pass-partials and gather from 8 to 65,536 GPUs (about 5 minutes).
scale-doc: setup
	$(SWIFT) build -c release
	.build/release/treeattn scale --out docs

clean:
	rm -rf .build Examples/UsingTheLibrary/.build
