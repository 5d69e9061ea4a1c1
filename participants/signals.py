"""The one signal this app sends.

``timeline_changed(sender=Participant, participant=…, by=user or None, reason="…")`` is sent
inside the transaction of every service that changes what a participant's schedule is computed
from: a status transition (actual phase starts, leaving the trial), the reminders switch, and a
change of their site's time zone or clinic calendar.
The scheduling app receives it and rebuilds that participant's visits and reminders in the same
transaction, so a schedule is never out of step with the participant it belongs to; ``by`` and
``reason`` say who and why in the history of the visits that move as a result.

Creation sends it once for all the participants created together (one, or every row of an
import): ``timeline_changed(sender=Participant, participants=[…], by=…, reasons=["…", …])``,
a reason for each. They were saved in this transaction and have no schedule yet; the scheduling
app builds all their schedules at once.

The one question it asks: ``transition_closes(sender=Participant, participant=…, target="…",
on=date)`` is sent by ``record_transition`` (and ``visits_closed_by``, for previews) before a
transition is written. Each receiver answers with a list of ``(sentence, needs_reason)``, one
per visit not done that the transition would close (a later phase starting: missed, the phase
ended; leaving while its window is open: missed) or cancel (planned after leaving); a closure
by a phase, and a cancellation, need the transition to give a reason. The scheduling app
answers it, so this app never imports it.
"""

from django.dispatch import Signal

timeline_changed = Signal()
transition_closes = Signal()
