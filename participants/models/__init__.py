"""Who is in the trial, and where: protocols, sites, participants and their transitions, one
module per concern (``protocols``, ``sites``, ``people``, ``staff``; API tokens in
``participants.api_tokens``); every name is importable from here, as before.

This app knows nothing of schedules: ``scheduling`` depends on it, never the reverse
(an import-linter contract checks it). When a participant's timeline inputs change, the
services here send the one documented signal ``participants.signals.timeline_changed``.
"""

# Staff access to the REST API: tokens and Idempotency-Key records (their own module).
from participants.api_tokens import ApiToken, IdempotencyRecord  # noqa: E402, F401
from participants.models.people import (  # noqa: F401
    ACTIVE_STATUSES,
    LEFT_STATUSES,
    ContactAttempt,
    EligibilityAnswer,
    Participant,
    ParticipantQuerySet,
    Status,
    Transition,
)
from participants.models.protocols import (  # noqa: F401
    EligibilityCriterion,
    Protocol,
    YesNo,
)
from participants.models.sites import (  # noqa: F401
    Resource,
    Site,
    SiteCapacity,
    SiteClosure,
    SiteMembership,
    validate_time_zone,
)
from participants.models.staff import (  # noqa: F401
    STAFF_LANGUAGES,
    StaffProfile,
)
from participants.translations import PARTICIPANT_LANGUAGES  # noqa: F401
