# gunicorn reads this file from the folder it starts in (the image's /app): every gunicorn of
# this project logs with reply-link tokens redacted (trialsite/log_redaction.py).
logger_class = "trialsite.gunicorn_logging.RedactingLogger"
accesslog = "-"
