"""What the protocol version pages read: a protocol's versions with their activations at the
reader's sites, and the difference between two versions' plans, visit by visit
(``rules.versions.plan_changes`` on the plans read from the database). Reads only."""

from __future__ import annotations

from dataclasses import dataclass

from scheduling.models import ProtocolVersion, ReminderRule, VersionActivation, version_key
from scheduling.rules import versions as version_rules
from scheduling.timeline.plans import version_plan


@dataclass(frozen=True)
class VersionRow:
    """A version as the protocol page lists it: its activations at the reader's sites."""

    version: ProtocolVersion
    activations: list[VersionActivation]

    @property
    def state(self) -> str:
        return "released" if self.version.is_released else "draft"


def version_rows(protocol, site_ids=None) -> list[VersionRow]:
    """``protocol``'s versions, newest first, each with its activations at ``site_ids`` (None:
    every site), in two queries."""
    versions = sorted(
        ProtocolVersion.objects.filter(protocol=protocol),
        key=lambda v: v.order_key,
        reverse=True,
    )
    activations = VersionActivation.objects.filter(version__protocol=protocol).select_related(
        "site"
    )
    if site_ids is not None:
        activations = activations.filter(site_id__in=list(site_ids))
    by_version: dict[int, list[VersionActivation]] = {}
    for activation in activations.order_by("site__code"):
        by_version.setdefault(activation.version_id, []).append(activation)
    return [VersionRow(version, by_version.get(version.pk, [])) for version in versions]


def previous_version(version: ProtocolVersion) -> ProtocolVersion | None:
    """The version of the same protocol numbered just before ``version``."""
    older = [
        other
        for other in ProtocolVersion.objects.filter(protocol_id=version.protocol_id)
        if version_key(other.number) < version.order_key
    ]
    return max(older, key=lambda v: v.order_key, default=None)


def _plan(version: ProtocolVersion):
    phases, definitions = version_plan(version.pk)
    reminders = [
        (rule.lead_days, rule.local_time)
        for rule in ReminderRule.objects.filter(version=version, active=True)
    ]
    names = {definition.code: definition.name for definition in definitions}
    return (
        [phase.as_plan() for phase in phases],
        [definition.as_plan() for definition in definitions],
        reminders,
        names,
    )


def compare_versions(old: ProtocolVersion, new: ProtocolVersion) -> list[version_rules.VisitChange]:
    """What ``new``'s plan changes against ``old``'s: visits added, removed, moved,
    re-windowed, renamed; phases; participant reminders."""
    old_phases, old_visits, old_reminders, old_names = _plan(old)
    new_phases, new_visits, new_reminders, new_names = _plan(new)
    return version_rules.plan_changes(
        old_phases,
        old_visits,
        new_phases,
        new_visits,
        old_reminders,
        new_reminders,
        old_names,
        new_names,
    )
