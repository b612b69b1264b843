# feedgate gateway image. Build: docker build -t feedgate .
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY gateway ./gateway
COPY bridges ./bridges
COPY proto ./proto
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --uid 10001 feedgate
COPY docker/feedgate.toml /etc/feedgate/feedgate.toml

USER feedgate
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["feedgate", "health", "--config", "/etc/feedgate/feedgate.toml"]
CMD ["feedgate", "run", "--config", "/etc/feedgate/feedgate.toml"]
