"""gunicorn's logger with reply-link tokens redacted from its access and error logs
(``--logger-class trialsite.gunicorn_logging.RedactingLogger``, set in gunicorn.conf.py)."""

from gunicorn.glogging import Logger

from trialsite.log_redaction import RedactLinkTokens


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactLinkTokens) for f in log.filters):
                log.addFilter(RedactLinkTokens())
