"""The protocol versions in a participant's audit trail: each take-up (the version they
started on, one their site's activation moved them to, a re-consent), and each activation at
their site of a version of their protocol; who, when, what and why, from the records
themselves (added, never changed). Two queries."""

from django.utils.translation import gettext as _

from participants.models import Participant
from scheduling.models import VersionActivation, VersionTakeUp
from scheduling.workspace.audit_trail import EMPTY, AuditEntry, Change, who


def version_entries(participant: Participant) -> list[AuditEntry]:
    entries = []
    for take_up in (
        VersionTakeUp.objects.filter(participant=participant)
        .select_related("version", "previous", "recorded_by")
        .order_by("recorded_at", "id")
    ):
        entries.append(
            AuditEntry(
                take_up.recorded_at,
                "version",
                _("Protocol version"),
                _("version taken up (%(how)s)") % {"how": take_up.get_kind_display()},
                who(take_up.recorded_by),
                take_up.reason,
                [
                    Change(
                        _("Version"),
                        take_up.previous.number if take_up.previous else EMPTY,
                        take_up.version.number,
                    ),
                    Change(_("Since"), EMPTY, take_up.since.isoformat()),
                ],
            )
        )
    for activation in (
        VersionActivation.objects.filter(
            site_id=participant.site_id, version__protocol_id=participant.protocol_id
        )
        .select_related("version", "site", "activated_by")
        .order_by("recorded_at", "id")
    ):
        entries.append(
            AuditEntry(
                activation.recorded_at,
                "version",
                _("Site %(site)s") % {"site": activation.site.code},
                _("version %(number)s activated at the site")
                % {"number": activation.version.number},
                who(activation.activated_by),
                activation.reason,
                [Change(_("Active from"), EMPTY, activation.activated_on.isoformat())],
            )
        )
    return entries
