# The two commands a newcomer needs: `make demo` and `make test`. Everything else is CMake.
BUILD    ?= build
JOBS     ?= $(shell nproc)
SANITIZE ?=
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=Release -DPICTOR_SANITIZE=$(SANITIZE)

.PHONY: all deps build test demo bench clean

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

clean:
	rm -rf $(BUILD)
