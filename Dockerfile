# The bot as a container image: `docker build -t privatelink-bot .`
# The build stage makes the wheel (the bot and its Alembic scripts); the final stage installs the
# runtime dependencies at the versions and hashes of requirements.lock, then that wheel alone, and
# nothing of the source tree. tests/test_packaging.py performs the same steps.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --no-log-init --create-home --uid 10001 --user-group bot
COPY requirements.lock /tmp/requirements.lock
COPY --from=build /wheels /wheels
# Every dependency from the lock (pip refuses any file whose hash differs), then the wheel without
# its own resolution, and `pip check` that the locked set satisfies the wheel's requirements.
RUN pip install --no-cache-dir --require-hashes --requirement /tmp/requirements.lock \
    && pip install --no-cache-dir --no-deps /wheels/*.whl \
    && pip check \
    && rm -rf /wheels /tmp/requirements.lock
# `bot`, by number: Kubernetes checks runAsNonRoot against a number, not a name.
USER 10001:10001
WORKDIR /home/bot
EXPOSE 3000
# Ready while the database answers; slim has no curl, so Python asks. A 503 raises: unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
CMD ["python", "-m", "bot", "serve"]
