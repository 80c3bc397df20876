# The two commands a newcomer needs: `make demo` and `make test`. Everything else is CMake.
BUILD    ?= build
JOBS     ?= $(shell nproc)
SANITIZE ?=
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=Release -DPICTOR_SANITIZE=$(SANITIZE)

.PHONY: all deps build test demo bench fuzz clean

all: build

deps:
	@sh tools/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ./pictor_tests --jobs $(JOBS)

DEMO_DATA = runs/data/fashion-mnist-train.h5 runs/data/fashion-mnist-test.h5

demo: build $(DEMO_DATA)
	@$(BUILD)/pictor train configs/demo.yaml

runs/data/fashion-mnist-%.h5: | build
	@mkdir -p $(@D)
	@$(BUILD)/pictor data import-idx --split $* --out $@

bench: build
	@cmake --build $(BUILD) -j $(JOBS) --target bench

# libFuzzer harnesses (tests/fuzz): a clang build with ASan + UBSan, each run FUZZ_SECONDS.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@command -v clang >/dev/null || { echo "make fuzz needs clang: apt-get install clang"; exit 1; }
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DPICTOR_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZERS)

clean:
	rm -rf $(BUILD)
