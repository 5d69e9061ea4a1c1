"""The status tables of the FHIR export, pure, in one place (docs/fhir.md#statuses): a
participant's lifecycle status as a ResearchSubject.status, a visit's status, booking and
confirmation as an Appointment.status and the participant's ParticipationStatus."""

# The R4 / R4B value sets (required bindings) each table maps into.
RESEARCH_SUBJECT_STATUSES = frozenset(
    {
        "candidate",
        "eligible",
        "follow-up",
        "ineligible",
        "not-registered",
        "off-study",
        "on-study",
        "on-study-intervention",
        "on-study-observation",
        "pending-on-study",
        "potential-candidate",
        "screening",
        "withdrawn",
    }
)
APPOINTMENT_STATUSES = frozenset(
    {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    }
)
PARTICIPATION_STATUSES = frozenset({"accepted", "declined", "tentative", "needs-action"})
# app-3: only these may have no start and end.
UNTIMED_APPOINTMENT_STATUSES = frozenset({"proposed", "cancelled", "waitlist"})

# participants.models.Status → ResearchSubject.status.
RESEARCH_SUBJECT_STATUS = {
    "screening": "screening",
    "enrolled": "on-study",
    "treatment": "on-study-intervention",
    "follow_up": "follow-up",
    "completed": "off-study",
    "screen_failed": "ineligible",
    "withdrawn": "withdrawn",
    "lost_to_follow_up": "off-study",
}

# scheduling.models.VisitStatus (other than scheduled) → Appointment.status.
ENDED_VISIT_STATUS = {
    "completed": "fulfilled",
    "missed": "noshow",
    "cancelled": "cancelled",
    "not_applicable": "cancelled",
}

# A scheduled visit's appointment: (booked by staff, confirmation) → Appointment.status.
SCHEDULED_STATUS = {
    (True, "confirmed"): "booked",
    (False, "confirmed"): "booked",
    (True, "unconfirmed"): "pending",
    (False, "unconfirmed"): "proposed",
    (True, "reschedule_requested"): "proposed",
    (False, "reschedule_requested"): "proposed",
}

# scheduling.models.Confirmation → the participant's Appointment.participant.status.
PARTICIPATION_STATUS = {
    "confirmed": "accepted",
    "unconfirmed": "needs-action",
    "reschedule_requested": "declined",
}


def research_subject_status(participant_status: str) -> str:
    """The ResearchSubject.status of a participant's lifecycle status."""
    return RESEARCH_SUBJECT_STATUS[participant_status]


def appointment_status(visit_status: str, booked: bool, confirmation: str, no_show: bool) -> str:
    """The Appointment.status of a visit: how it ended (done, missed, cancelled, not
    applicable); else a no-show (its day passed, its window still open); else as the staff's
    booking and the participant's confirmation stand."""
    if visit_status in ENDED_VISIT_STATUS:
        return ENDED_VISIT_STATUS[visit_status]
    if no_show:
        return "noshow"
    return SCHEDULED_STATUS[(booked, confirmation)]


def participation_status(visit_status: str, confirmation: str) -> str:
    """The participant's answer to the appointment: accepted once the visit is done, else
    their confirmation."""
    if visit_status == "completed":
        return "accepted"
    return PARTICIPATION_STATUS[confirmation]
