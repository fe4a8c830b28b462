# Everything runs from the project's virtualenv (.venv), made on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/operator:$(CURDIR)/tests:$(CURDIR)/tools

.PHONY: help venv version testbin sandbox demo run test lint typecheck docs crds manifests bench wheels lock image release e2e clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(PY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(PY)

venv: $(PY) ## create .venv with the operator and its dev tools

# pyproject.toml holds the one version; the chart, the image tag and --version follow it.
version: ## print the package version (from pyproject.toml, no install needed)
	@$(PYTHON) -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])'

testbin: ## build (or find cached) kube-apiserver, kubectl, etcd, influxd, helm 3 and 4, promtool, actionlint, prometheus-operator's CRDs, crane (an OCI registry), argocd-health and kstatus (the tests' Argo CD and Flux health checkers); INFLUXD_VERSIONS / KUBE_VERSIONS (or INFLUXD / KUBE) add other versions
	bash tests/testbin/build.sh

.PHONY: testbin-node cluster
testbin-node: ## testbin plus the node of `make cluster` (kubelet, controller-manager, scheduler, kube-proxy, CoreDNS, pause) and make release's tools (buildx, buildkitd, syft, oras)
	bash tests/testbin/build.sh --node

sandbox: $(PY) testbin ## run etcd + kube-apiserver + edge and cloud influxd until Ctrl-C
	$(PY) -m sandbox

cluster: $(PY) testbin-node ## run a one-node cluster (control plane, kubelet, containerd, kube-proxy, CoreDNS) until Ctrl-C; root
	$(PY) -m sandbox.cluster

demo: $(PY) testbin ## the whole story on a fresh machine: sandbox, CRDs, examples, operator, data flowing
	$(PY) -m demo $(DEMO_ARGS)

run: $(PY) ## run the operator against $KUBECONFIG in the foreground
	$(PY) -m influxdb_operator --verbose

test: $(PY) testbin ## lint, type checks and the whole test suite on the real sandbox
	$(MAKE) lint typecheck
	$(PY) -m pytest

.PHONY: test-versions
test-versions: $(PY) ## beside the defaults: admission, client, lifecycle, tokens, validate, data plane and import tests on the oldest influxd and Kubernetes, the chart on Helm 3; prints per version how many ran and passed
	$(PY) -m support.matrix

lint: $(PY) testbin ## ruff (lint + format check), import-linter's layer contract, actionlint on the workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	@command -v shellcheck >/dev/null || { echo "lint: actionlint checks the workflows' scripts with shellcheck: apt-get install shellcheck" >&2; exit 1; }
	$(ACTIONLINT) -shellcheck shellcheck

typecheck: $(PY) ## mypy --strict
	$(VENV)/bin/mypy operator/influxdb_operator tests tools .github/release_notes.py

CHART := deploy/chart/influxdb-replication-operator
# The testbin's links: $TESTBIN_DIR if set (as tests/sandbox/binaries.py reads it), else the cache's bin/.
TESTBIN_BIN = $(or $(TESTBIN_DIR),$(or $(TESTBIN_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/influxdb-replication-operator/testbin)/bin)
HELM_BIN = $(TESTBIN_BIN)/helm
ACTIONLINT = $(TESTBIN_BIN)/actionlint
MANIFEST_NAMESPACE := influxdb-replication-operator

docs: $(PY) ## regenerate the README's reasons tables and the API reference, then build the docs site (build/site, --strict)
	$(PY) -m support.readme
	$(PY) -m api_reference docs/reference
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

crds: $(PY) ## regenerate crds/ (and the chart's copy) from the pydantic models
	$(PY) -m influxdb_operator.api.crds crds $(CHART)/files/crds

manifests: crds testbin ## render deploy/manifests/ from the Helm chart (default values)
	@mkdir -p deploy/manifests
	{ echo "# Rendered from $(CHART) by \`make manifests\`; do not edit."; \
	  $(HELM_BIN) template $(MANIFEST_NAMESPACE) $(CHART) --namespace $(MANIFEST_NAMESPACE); } \
	  > deploy/manifests/operator.yaml

bench: $(PY) testbin ## benchmarks: prints figures, asserts nothing about time
	$(PY) -m pytest -p no:cacheprovider tests/bench/bench_growth.py tests/bench/bench_scale.py tests/bench/bench_sets.py -s -q

# The image's pinned wheels for both release platforms, fetched by the host's pip
# (which trusts the host's CAs, a TLS-intercepting proxy's included) and checked
# against the locks' hashes; the Dockerfile then installs only these.
WHEEL_ARCHES := x86_64 aarch64

wheels: $(PY) ## download the image's dependencies (both platforms) into build/wheels/, hash-checked
	rm -rf build/wheels
	for arch in $(WHEEL_ARCHES); do \
	  $(PY) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --dest build/wheels \
	    $$(for p in manylinux2014 manylinux_2_28 manylinux_2_34; do echo --platform $${p}_$$arch; done) \
	    --require-hashes -r requirements.lock -r requirements-build.lock || exit 1; \
	done

# pip-compile keeps the locked versions unless LOCK_ARGS=--upgrade; PIP_FIND_LINKS
# (set on some machines) would otherwise be written into the lock.
LOCK := env -u PIP_FIND_LINKS $(VENV)/bin/pip-compile --quiet --strip-extras --generate-hashes \
  --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

lock: $(PY) ## pin the image's dependencies with every platform's hashes (requirements*.lock)
	$(LOCK) --output-file requirements.lock pyproject.toml
	$(LOCK) --allow-unsafe --only-build-deps --build-deps-for=wheel --output-file requirements-build.lock pyproject.toml

release: wheels ## build and push image (linux/amd64+arm64), SBOMs and chart: make release REGISTRY=host/path [VERSION=x.y.z]
	VERSION=$(VERSION) REGISTRY=$(REGISTRY) $(PY) tools/release.py

image: $(PY) ## build the operator image with Docker (starts dockerd, makes a stand-in base if needed)
	$(PY) -m e2e.images operator

e2e: $(PY) testbin-node ## the end-to-end suite: images, a cluster (E2E_CLUSTER=local|kind), the Helm chart
	$(PY) -m pytest tests/e2e -s -rs

clean: ## remove the virtualenv and caches (not the testbin cache)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .sandbox build
