# optiscape in a container: `optiscape serve`, replicas of the app behind HAProxy (docs/running.md).
#
#   docker build -t optiscape .
#   docker run -p 8501:8501 optiscape                  # http://localhost:8501, 2 replicas
#   docker run -p 8501:8501 optiscape optiscape serve --workers 4 --host 0.0.0.0 --port 8501
#
# The image takes torch's CPU build (TORCH_INDEX); build with --build-arg TORCH_INDEX= for the
# build pip picks by default (CUDA on Linux). A replica keeps about one core busy: give the
# container as many cores as workers.
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

RUN apt-get update \
    && apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/optiscape
COPY . .
RUN PIP_EXTRA_INDEX_URL="$TORCH_INDEX" pip install --no-cache-dir -c constraints.txt -e . \
    && useradd --create-home optiscape \
    && mkdir -p app/static && chown optiscape app/static

USER optiscape
ENV STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["optiscape", "serve", "--workers", "2", "--host", "0.0.0.0", "--port", "8501"]
