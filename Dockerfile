# The operator image: the package and its pinned dependencies in a virtualenv,
# built in one stage and copied onto the same Python base, without pip,
# setuptools or any build tool.
#
# The base is the official python image (python at /usr/local/bin) or any
# Debian with python3 and python3-venv (/usr/bin): only `python3` is used.
#
# Dependencies come from PyPI, or, where the build cannot reach it (behind a
# TLS-intercepting proxy whose CA the base does not trust, or offline), from
# wheels that `make wheels` downloaded on the host into build/wheels/: then
# nothing in the build touches the network. Behind such a proxy PyPI works too
# when its CA bundle is put at build/ca.pem: pip alone trusts it, in the build
# stage only (it never reaches the image).
#
# requirements.lock pins the runtime dependencies; to refresh it:
#   python -m venv /tmp/v && /tmp/v/bin/pip install . && /tmp/v/bin/pip freeze --exclude influxdb-replication-operator

ARG PYTHON=python:3.11-slim-bookworm

FROM ${PYTHON} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/operator
# build/wheels and build/ca.pem are optional: the globs copy them if they exist.
COPY requirements.lock build/wheel[s] build/ca.pe[m] /wheels/
RUN set -eu; \
    if [ -f /wheels/ca.pem ]; then export PIP_CERT=/wheels/ca.pem; fi; \
    if ls /wheels/*.whl >/dev/null 2>&1; then set -- --no-index --find-links=/wheels; fi; \
    /opt/operator/bin/pip install --no-deps "$@" -r /wheels/requirements.lock
COPY pyproject.toml README.md /src/
COPY operator /src/operator
# kubernetes/aio is the client's asyncio copy (half the venv); nothing imports it.
RUN set -eu; \
    if [ -f /wheels/ca.pem ]; then export PIP_CERT=/wheels/ca.pem; fi; \
    if ls /wheels/*.whl >/dev/null 2>&1; then set -- --no-index --find-links=/wheels; fi; \
    /opt/operator/bin/pip install --no-deps "$@" /src; \
    /opt/operator/bin/pip uninstall --quiet --yes pip setuptools; \
    rm -rf /opt/operator/lib/python3*/site-packages/kubernetes/aio; \
    /opt/operator/bin/python3 -m compileall -q /opt/operator

FROM ${PYTHON}
# Nothing installs anything at run time: drop the base's own pip and setuptools
# (the official image's in /usr/local, Debian's bundled wheels).
RUN rm -rf /usr/local/bin/pip* /usr/local/lib/python3*/site-packages/pip \
    /usr/local/lib/python3*/site-packages/pip-* /usr/local/lib/python3*/site-packages/setuptools* \
    /usr/local/lib/python3*/site-packages/_distutils_hack /usr/local/lib/python3*/site-packages/distutils-precedence.pth \
    /usr/local/lib/python3*/site-packages/wheel* /usr/share/python-wheels
COPY --from=build /opt/operator /opt/operator
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
