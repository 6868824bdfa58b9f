# Build: docker build -t crm .
# Run:   docker run -p 8000:8000 -e DATABASE_URL=postgresql://user:pass@db:5432/crm \
#          -e CRM_ENV=production -e CRM_SECRET_KEY=... crm
# Without DATABASE_URL the container starts its own embedded PostgreSQL in /data (a volume).
# With PostgreSQL, the API, a worker and the migrations: compose.yaml.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# the dependencies first, in a layer of their own: a change to the code rebuilds in seconds
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install -r requirements.txt
COPY README.md ./
COPY app ./app
COPY resolvers ./resolvers
COPY compiled ./compiled
COPY services ./services
COPY schema ./schema
COPY auth ./auth
COPY ml ./ml
COPY db ./db
COPY core ./core
COPY migrations ./migrations
RUN pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CRM_DATA_DIR=/data
RUN useradd --create-home --uid 10001 crm && mkdir /data && chown crm:crm /data
# The embedded PostgreSQL (no DATABASE_URL) keeps its data here: mount a volume on it
# (docker run -v crm-data:/data ...) or the data goes with the container.
VOLUME ["/data"]
COPY --from=build /opt/venv /opt/venv
USER crm
WORKDIR /home/crm
EXPOSE 8000
# asks the API; a container running `crm worker` or `crm migrate` has none to ask (compose.yaml
# turns the check off for those)
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["crm"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--no-demo"]
