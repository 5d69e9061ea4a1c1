"""Pure rules on plain values (no ORM, no clock), property-tested: the dates of phases and
visits, windows, study days, deviations and how a visit ends (``engine``); the clinic
calendar: why a day is closed, the choice of a day, a day's load and the capacity rule
(``clinic_calendar``); a participant's whole schedule decided at once (``schedule``); which
reminders may go out, and when (``reminder_rules``). The lowest layer: it imports nothing
else of the project."""
