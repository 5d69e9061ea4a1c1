FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY trialsite ./trialsite
COPY participants ./participants
COPY scheduling ./scheduling
COPY manage.py gunicorn.conf.py ./
COPY scripts/compile_translations.py ./scripts/
RUN pip install . \
 && python scripts/compile_translations.py \
 && DEBUG=false SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build@localhost/none \
    SITE_URL=https://build.invalid python manage.py collectstatic --no-input \
 && useradd --system --uid 1000 trialsite \
 && mkdir -p /app/var && chown trialsite /app/var
USER trialsite

EXPOSE 8000
# gunicorn.conf.py: the access log on stdout, with reply-link tokens redacted.
CMD ["gunicorn", "trialsite.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
