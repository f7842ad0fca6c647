# CPU image that runs the FaceROC dashboard on the bundled demo: docker build -t faceroc . && docker run -p 8501:8501 faceroc
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 FACEROC_CACHE=/tmp/faceroc-cache \
    FACEROC_MODEL_TIMEOUT=300 FACEROC_MODEL_MEMORY_GB=4
WORKDIR /app
COPY requirements.txt .
# the CPU wheels of torch/torchvision keep the image small (PyPI's default build carries CUDA)
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
COPY . .
# the faceroc command too; the dashboard runs from /app
RUN pip install --no-deps . && useradd -m faceroc && chown -R faceroc /app
USER faceroc
# the demo's result computed at build time, so the first screen shows its chart at once (as make run's set-up does)
RUN python demo/precompute.py
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", "--browser.gatherUsageStats=false"]
