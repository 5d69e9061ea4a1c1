"""The one signal this app sends.

``timeline_changed(sender=Participant, participant=…, by=user or None, reason="…")`` is sent
inside the transaction of every service that changes what a participant's schedule is computed
from: creation (consent date), a status transition (actual phase starts, leaving the trial), the
reminders switch, and a change of their site's time zone or clinic calendar.
The scheduling app receives it and rebuilds that participant's visits and reminders in the same
transaction, so a schedule is never out of step with the participant it belongs to; ``by`` and
``reason`` say who and why in the history of the visits that move as a result.
"""

from django.dispatch import Signal

timeline_changed = Signal()
