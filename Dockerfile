# Image of the bridge: the portal, the example démarche site and the development mail catcher
# (one image, the command chooses). See docker-compose.yml.

# --- DSFR assets, installed from the npm lock file (no install scripts run) ----------------
FROM node:20-slim AS dsfr
WORKDIR /assets
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund

# --- The bridge -----------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 bridge \
    && useradd --system --uid 10001 --gid bridge --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin bridge

# Installed into site-packages; the sources are removed so that only the installed copy runs.
COPY pyproject.toml /tmp/src/
COPY bridge /tmp/src/bridge
RUN pip install /tmp/src && rm -rf /tmp/src

COPY --from=dsfr /assets/node_modules/@gouvfr/dsfr/dist /opt/dsfr/dist
ENV BRIDGE_DSFR_DIST=/opt/dsfr/dist \
    BRIDGE_RP_DSFR_DIST=/opt/dsfr/dist

# The realm that the deploy step applies (`python -m bridge keycloak appliquer`), the one this
# image was built with; docker-compose.yml mounts the folder REALM_EXPORT_DIR names instead.
COPY keycloak/realm-export /opt/demarches/realm-export
ENV BRIDGE_REALM_EXPORT_DIR=/opt/demarches/realm-export

WORKDIR /app
USER bridge:bridge

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=3)"]

# One uvicorn worker (no --workers, no WEB_CONCURRENCY): /metrics' check-API counters are per
# process, so several workers behind one port would give Prometheus a different worker's
# counts at each scrape. Scale with replicas (compose's profile « cluster »), each scraped.
CMD ["uvicorn", "bridge.api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
