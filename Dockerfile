# The operator image: the package and its pinned dependencies in a virtualenv,
# built in one stage and copied onto the same Python base, without pip,
# setuptools or any build tool. `make release` builds it for linux/amd64 and
# linux/arm64; a plain `docker build .` works too.
#
# The base is the official python image (python at /usr/local/bin) or any
# Debian with python3 and python3-venv (/usr/bin): only `python3` is used.
#
# Dependencies are installed with --require-hashes from requirements.lock (the
# runtime) and requirements-build.lock (setuptools, to build the package
# itself), both written by `make lock`: a wheel whose content differs from the
# one locked is refused. They come from PyPI, or, where the build cannot reach
# it (behind a TLS-intercepting proxy whose CA the base does not trust, or
# offline), from wheels that `make wheels` downloaded on the host into
# build/wheels/: then nothing in the build touches the network. Behind such a
# proxy PyPI works too when its CA bundle is put at build/ca.pem: pip alone
# trusts it, in the build stage only (it never reaches the image).

ARG PYTHON=python:3.11-slim-bookworm

FROM ${PYTHON} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/operator
# build/wheels and build/ca.pem are optional: the globs copy them if they exist.
COPY requirements.lock requirements-build.lock build/wheel[s] build/ca.pe[m] /wheels/
RUN set -eu; \
    if [ -f /wheels/ca.pem ]; then export PIP_CERT=/wheels/ca.pem; fi; \
    if ls /wheels/*.whl >/dev/null 2>&1; then set -- --no-index --find-links=/wheels; fi; \
    /opt/operator/bin/pip install --require-hashes "$@" -r /wheels/requirements.lock -r /wheels/requirements-build.lock
COPY pyproject.toml README.md LICENSE /src/
COPY operator /src/operator
# kubernetes/aio is the client's asyncio copy (half the venv); nothing imports it.
RUN set -eu; \
    if [ -f /wheels/ca.pem ]; then export PIP_CERT=/wheels/ca.pem; fi; \
    if ls /wheels/*.whl >/dev/null 2>&1; then set -- --no-index --find-links=/wheels; fi; \
    /opt/operator/bin/pip install --no-deps --no-build-isolation "$@" /src; \
    /opt/operator/bin/pip uninstall --quiet --yes pip setuptools; \
    rm -rf /opt/operator/lib/python3*/site-packages/kubernetes/aio; \
    /opt/operator/bin/python3 -m compileall -q /opt/operator

FROM ${PYTHON}
ARG PYTHON
# Set by `make release`; a plain build is labelled "dev".
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="influxdb-replication-operator" \
      org.opencontainers.image.description="Kubernetes operator for InfluxDB OSS v2 replication streams" \
      org.opencontainers.image.source="https://github.com/influxdb-replication-operator/influxdb-replication-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${PYTHON}"
# Nothing installs anything at run time: drop the base's own pip and setuptools
# (the official image's in /usr/local, Debian's bundled wheels).
RUN rm -rf /usr/local/bin/pip* /usr/local/lib/python3*/site-packages/pip \
    /usr/local/lib/python3*/site-packages/pip-* /usr/local/lib/python3*/site-packages/setuptools* \
    /usr/local/lib/python3*/site-packages/_distutils_hack /usr/local/lib/python3*/site-packages/distutils-precedence.pth \
    /usr/local/lib/python3*/site-packages/wheel* /usr/share/python-wheels
COPY --from=build /opt/operator /opt/operator
COPY LICENSE /licenses/LICENSE
# LOGNAME: kopf names itself after the user unless POD_ID is set (the chart
# sets it), and Python's getpass would otherwise look UID 65532 up in
# /etc/passwd, where it has no entry. Any UID must start.
ENV PATH=/opt/operator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOGNAME=influxdb-replication-operator
# A fixed non-root UID, matching the chart's securityContext; nothing in the
# image needs to be written, so the root filesystem can be read-only. Only /tmp
# must be writable when a kubeconfig with inline CA data is used (the client
# writes it to a file): the chart mounts an emptyDir there.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["influxdb-replication-operator"]
CMD ["--standalone", "--liveness=http://0.0.0.0:8080/healthz", "--metrics-port=9090"]
