# One image for the API (cloud-servers-api, the default) and the workers (cloud-servers-workers).
# Built from the locked dependencies (requirements.lock, `make lock`); runs as uid 10001 with a
# read-only root filesystem in k8s/.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/cloud-servers
ENV PATH=/opt/cloud-servers/bin:$PATH
WORKDIR /src
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY setup.cfg pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
RUN pip install --no-deps . && python -m compileall -q /opt/cloud-servers

FROM python:3.11-slim
RUN groupadd --system --gid 10001 cloud-servers \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin cloud-servers
COPY --from=build /opt/cloud-servers /opt/cloud-servers
ENV PATH=/opt/cloud-servers/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LISTEN_HOST=0.0.0.0
USER 10001:10001
EXPOSE 8080 9101
CMD ["cloud-servers-api"]
