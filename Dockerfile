# The deskpilot app image: `deskpilot serve` (API) by default, `deskpilot console` for the console
# (compose.yaml runs both). Models come from PyPI packages, so nothing downloads at run time.
FROM python:3.11.14-slim-bookworm

# The CPU build of torch: PyPI's default Linux wheel pulls several GB of CUDA libraries.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DESKPILOT_DATA_DIR=/data \
    DESKPILOT_API_HOST=0.0.0.0

# poppler-utils: PDF pages for unstructured; libmagic1: file type detection.
RUN apt-get update \
    && apt-get install -y --no-install-recommends poppler-utils libmagic1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Same order as the Makefile: torch first (pinned, CPU), then the project, then unstructured-inference
# without its dependencies (they would pull torchvision and break that torch).
RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0
COPY . /app
# Editable, as in development: repo-relative files (data/samples, evals/*.jsonl) resolve under /app.
RUN pip install -e '.[postgres]' \
    && pip install --no-deps unstructured-inference==1.6.14

RUN useradd --create-home --uid 10001 deskpilot \
    && mkdir -p /data \
    && chown deskpilot:deskpilot /data
USER deskpilot
VOLUME ["/data"]

EXPOSE 8000 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=4 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["deskpilot", "serve", "--no-demo"]
