# The consumer fleet: `tubeq consume` in a slim image. One container = one consumer process
# pulling from Cloudflare Queues over HTTP; run N of them (docs/deploy.md).
# Build: docker build -t tubeq-consumer .
# Run:   docker run --env-file consumer.env tubeq-consumer   (settings: docs/deploy.md)

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY producer ./producer
COPY consumer ./consumer
COPY shared ./shared
COPY tubeq ./tubeq
# packaged as tubeq_sql and tubeq_samples: `tubeq db migrate` and `tubeq demo` work in the image
COPY sql ./sql
COPY samples ./samples
RUN python -m venv /opt/tubeq && /opt/tubeq/bin/pip install --no-compile .

FROM python:3.11-slim
# tzdata: Data API quota resets are computed in Pacific time; ca-certificates: HTTPS
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home tubeq
COPY --from=build /opt/tubeq /opt/tubeq
ENV PATH=/opt/tubeq/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TUBEQ_LOG_FORMAT=json \
    TUBEQ_QUEUE_BACKEND=cloudflare \
    TUBEQ_TRANSCRIPT_BACKEND=youtube \
    TUBEQ_ANALYZER_BACKEND=gemini \
    TUBEQ_RESULTS_BACKEND=supabase \
    TUBEQ_ARTIFACTS_BACKEND=r2 \
    TUBEQ_DATA_DIR=/app/data
WORKDIR /app
USER tubeq
# First SIGTERM: stop pulling, finish in-flight videos within TUBEQ_SHUTDOWN_GRACE_S;
# give the platform's stop timeout a little more than that grace.
STOPSIGNAL SIGTERM
ENTRYPOINT ["tubeq"]
# `consume` by default; the read API next to the consumers runs `serve` (docs/deploy.md)
CMD ["consume"]
