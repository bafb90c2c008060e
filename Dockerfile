# The API and UI image of docker-compose.yml: the pinned environment and the prepared model cache
# are built here, once, at `docker compose build` (not by scripts/setup.sh at every container start).
FROM python:3.11-slim-bookworm

ENV ARGUS_VENV=/opt/argus-venv \
    ARGUS_MODELS_DIR=/opt/argus-models \
    PYTHON=python3.11 \
    PIP_NO_CACHE_DIR=1
WORKDIR /srv/argus
COPY . .
# scripts/setup.sh is the one set-up step: Debian packages, the pinned venv, the shipped weights.
RUN bash scripts/setup.sh && rm -rf /var/lib/apt/lists/*

# Offline at run time: the weights are in the image; nothing is downloaded when a container starts.
ENV PATH=/opt/argus-venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
EXPOSE 8080 8501
CMD ["argus", "serve", "--host", "0.0.0.0", "--port", "8080"]
