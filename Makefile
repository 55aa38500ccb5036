# Thin driver over CMake; `make help` prints Makefile.help.
BUILD ?= build
JOBS  ?= $(shell nproc)
BIN   := $(BUILD)/bin
MAKEFLAGS += --no-print-directory

.PHONY: help deps configure build test demo clean
.DEFAULT_GOAL := help

help:
	@cat Makefile.help

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release > /dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@SDE_BIN=$(BIN) bash data/demo.sh

clean:
	rm -rf $(BUILD) out
