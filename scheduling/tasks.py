"""Celery tasks: thin entry points that call one service. Safe to run twice, or at once."""

from celery import shared_task

from scheduling.mail import dispatch


@shared_task(name="scheduling.tasks.dispatch_due_reminders", ignore_result=True)
def dispatch_due_reminders() -> dict[str, int]:
    """Run by beat every minute (the periodic task of migration 0004): send what is due."""
    return dispatch.dispatch_due().as_dict()
