# One image for the api, the workers, beat and the migration job (docker-compose.yml picks the command).
# Installed editable from /app: the shipped specs and prompts are read from beside the code.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 gtqa \
    && mkdir -p /var/lib/gtqa \
    && chown gtqa:gtqa /var/lib/gtqa

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gtqa ./gtqa
COPY cli ./cli
COPY agents ./agents
COPY workers ./workers
COPY api ./api
COPY evals ./evals
COPY prompts ./prompts
COPY specs ./specs
RUN pip install -e .

USER gtqa
ENV GTQA_HOME=/var/lib/gtqa
CMD ["gtqa", "--help"]
