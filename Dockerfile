# syntax=docker/dockerfile:1
# The operator image: the package and its pinned dependencies in a virtualenv,
# built in one stage and copied onto a slim Python without build tools.
#
# requirements.lock pins the runtime dependencies; to refresh it:
#   python -m venv /tmp/v && /tmp/v/bin/pip install . && /tmp/v/bin/pip freeze --exclude influxdb-replication-operator

ARG PYTHON=python:3.11-slim-bookworm

FROM ${PYTHON} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/operator
COPY requirements.lock /src/requirements.lock
RUN /opt/operator/bin/pip install --no-deps -r /src/requirements.lock
COPY pyproject.toml README.md /src/
COPY operator /src/operator
RUN /opt/operator/bin/pip install --no-deps /src \
 && /opt/operator/bin/python -m compileall -q /opt/operator

FROM ${PYTHON}
COPY --from=build /opt/operator /opt/operator
ENV PATH=/opt/operator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A fixed non-root UID, matching the chart's securityContext; nothing in the
# image needs to be written, so the root filesystem can be read-only.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["influxdb-replication-operator"]
CMD ["--standalone", "--liveness=http://0.0.0.0:8080/healthz", "--metrics-port=9090"]
