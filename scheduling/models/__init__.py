"""The scheduling app's models, one module per concern (``versions``, ``plan``, ``visits``,
``reminders``, ``operations``, ``feeds``); everything is importable from here, as before.
"""

from scheduling.models.feeds import (  # noqa: F401
    CalendarFeed,
)
from scheduling.models.operations import (  # noqa: F401
    DispatchHeartbeat,
    MailRelay,
)
from scheduling.models.plan import (  # noqa: F401
    PHASE_START_STATUSES,
    Phase,
    Unit,
    VersionedPlanRow,
    VisitDefinition,
)
from scheduling.models.reminders import (  # noqa: F401
    Audience,
    LinkAction,
    OutboxMessage,
    OutboxQuerySet,
    OutboxStatus,
    Reminder,
    ReminderLinkUse,
    ReminderRule,
    SiteDigest,
)
from scheduling.models.versions import (  # noqa: F401
    ProtocolVersion,
    TakeUp,
    VersionActivation,
    VersionTakeUp,
    refuse_released,
    version_being_drafted,
    version_key,
)
from scheduling.models.visits import (  # noqa: F401
    AWAITING_DECISION,
    LIFECYCLE_DEVIATIONS,
    OPEN_VISIT,
    UNSCHEDULED_CODE,
    AppointmentFlag,
    Confirmation,
    Deviation,
    Visit,
    VisitQuerySet,
    VisitStatus,
)
