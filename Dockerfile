# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
RUN python -m venv /opt/cxbot \
 && /opt/cxbot/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 cxbot
COPY --from=build /opt/cxbot /opt/cxbot
ENV PATH="/opt/cxbot/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    CXBOT_HOST=0.0.0.0 \
    CXBOT_PORT=3978 \
    CXBOT_CONFIG=/etc/cxbot/cxbot.yaml \
    CXBOT_DATABASE_URL=sqlite+aiosqlite:////var/lib/cxbot/cxbot.db
RUN mkdir -p /var/lib/cxbot /etc/cxbot && chown cxbot /var/lib/cxbot
USER 10001
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import urllib.request,os; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['CXBOT_PORT']}/healthz\", timeout=4)"]
# Migrations take a PostgreSQL advisory lock, so replicas
# that start together apply them once; `serve` then refuses an unmigrated database.
CMD ["sh", "-c", "cxbot migrate && exec cxbot serve"]
