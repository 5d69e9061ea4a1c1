"""The one signal this app sends.

``timeline_changed(sender=Participant, participant=…)`` is sent inside the transaction of every
service that changes what a participant's schedule is computed from: creation (consent date),
a status transition (actual phase starts, leaving the trial) and the reminders switch.
The scheduling app receives it and rebuilds that participant's visits and reminders in the same
transaction, so a schedule is never out of step with the participant it belongs to.
"""

from django.dispatch import Signal

timeline_changed = Signal()
