# deskpilot: `make run` runs the product on the embedded defaults, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run ingest test lint typecheck services pytest bench clean pii-model

install: $(STAMP)

# torch is pinned to the CPU wheel first; unstructured-inference (needed by
# unstructured's PDF partitioner) goes in without its dependencies, which
# would otherwise pull torchvision and break that torch.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	# llama.cpp built for this CPU family, not -march=native: a native build of a VM's reported flags
	# crashed with "Illegal instruction" here (2026-12-05).
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps unstructured-inference==1.6.14
	touch $(STAMP)

run: install ingest
	$(BIN)/deskpilot index stats
	$(BIN)/deskpilot ask "How long does the password reset link stay valid?" --tenant ledgerly
	$(BIN)/deskpilot demo seed
	$(BIN)/deskpilot console

ingest: install
	$(BIN)/deskpilot ingest data/samples/helpcenter data/samples/bad

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

test: lint typecheck services pytest

# What the tests need from the machine: Debian's Chromium for the browser tests (never a downloaded
# browser), the local PostgreSQL server for the feedback store's tests and the local Redis for the API's.
services:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort | tail -1) main start
	for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
	redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	for i in $$(seq 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done

bench: install
	$(BIN)/python evals/bench_ingest.py

# Regenerate the synthetic data and retrain the PERSON/STREET_ADDRESS model shipped in ingest/models/pii_ner
# (fixed seeds, one CPU thread; see ingest/models/pii_ner/DATA_CARD.md), then print its dev-split figures.
pii-model: install
	$(BIN)/python tools/pii_model/generate.py --out build/pii_model
	nice -n 10 $(BIN)/python tools/pii_model/train.py --data build/pii_model --out ingest/models/pii_ner
	$(BIN)/python tools/pii_model/evaluate.py --data build/pii_model --json build/pii_model/dev_eval.json

clean:
	rm -rf .deskpilot .pytest_cache .mypy_cache .ruff_cache
