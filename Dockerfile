# ownergraph gateway: slim, non-root, no customer data inside (it holds none).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ownership.yaml ./
COPY ownergraph ownergraph
COPY schema schema
COPY resolvers resolvers
COPY sources sources
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 ownergraph
COPY --from=build /install /usr/local
COPY schema/customers.graphql /etc/ownergraph/schema.graphql
COPY ownership.yaml /etc/ownergraph/ownership.yaml
# /metrics and /readyz on a port of their own, not beside the API (README, "Endpoints").
ENV OWNERGRAPH_SCHEMA=/etc/ownergraph/schema.graphql \
    OWNERGRAPH_OWNERSHIP=/etc/ownergraph/ownership.yaml \
    OWNERGRAPH_METRICS_PORT=9090 \
    PYTHONUNBUFFERED=1
USER 10001
EXPOSE 8000 9090
HEALTHCHECK --interval=10s --timeout=2s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
ENTRYPOINT ["ownergraph", "serve", "--host", "0.0.0.0", "--port", "8000"]
