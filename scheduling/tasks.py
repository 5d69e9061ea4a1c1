"""Celery tasks: thin entry points that call one service. Safe to run twice, or at once."""

from celery import shared_task

from participants.api_tokens import forget_idempotency_records
from scheduling.mail import dispatch


@shared_task(name="scheduling.tasks.dispatch_due_reminders", ignore_result=True)
def dispatch_due_reminders() -> dict[str, int]:
    """Run by beat every minute (the periodic task of migration 0004): send what is due."""
    return dispatch.dispatch_due().as_dict()


@shared_task(name="scheduling.tasks.forget_idempotency_keys", ignore_result=True)
def forget_idempotency_keys() -> int:
    """Run by beat every hour (migration 0027): the API's Idempotency-Key answers older than
    seven days are deleted (participants.api_tokens.IDEMPOTENCY_KEPT)."""
    return forget_idempotency_records()
