# The Industrial Brain app image: one image, every `brain` service (bridge, processors, sink,
# simulator, influx init). docker-compose.yml builds it; the official images run the servers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY brain ./brain
COPY ingest ./ingest
COPY processors ./processors
COPY dashboards ./dashboards
COPY packs ./packs
RUN pip install . && useradd --system --uid 10001 --home-dir /app brain
COPY examples ./examples

USER brain
ENTRYPOINT ["brain"]
CMD ["--help"]
