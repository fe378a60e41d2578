# One image for every Billing process (docker-compose.yml picks the command).
# The local stack (`make up`) does not need it: it exists for people who prefer Docker.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
# .run holds the sandboxes' state (sqlite), as in the local stack; the compose file
# mounts a volume there so it survives container restarts.
RUN pip install -c constraints.txt . \
 && useradd --system --uid 10001 --home-dir /app billing \
 && mkdir -p .run && chown billing .run
USER billing

CMD ["python", "-m", "gateway"]
