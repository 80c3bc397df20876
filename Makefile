# The two commands a newcomer needs: `make demo` and `make test`. Everything else is CMake.
BUILD    ?= build
JOBS     ?= $(shell nproc)
SANITIZE ?=
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

demo: build
	@$(BUILD)/pictor demo

bench: build
	@cmake --build $(BUILD) -j $(JOBS) --target bench

clean:
	rm -rf $(BUILD)
