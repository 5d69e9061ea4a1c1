"""Staff roles and site scoping.

Roles are Django groups (created by a data migration, and again by :func:`ensure_roles` after
a test flush): a **Coordinator** manages participants and visits of their sites, an
**Investigator** does the same and is the only role that confirms eligibility, a **Monitor**
reads everything of the sites they are assigned and changes nothing, a **Site manager** does
what a coordinator does and also keeps the site's clinic calendar (open days, public
holidays, capacity). Coordinators and investigators may edit their sites' closures. A user
sees the records of the sites they are members of (``SiteMembership``); a superuser sees
every site.

Permissions are named as strings so this module (and the migration that uses it) imports
nothing from the scheduling app.
"""

from django.db.models import QuerySet

COORDINATOR = "Coordinator"
INVESTIGATOR = "Investigator"
MONITOR = "Monitor"
SITE_MANAGER = "Site manager"
ROLES = (COORDINATOR, INVESTIGATOR, MONITOR, SITE_MANAGER)

CONFIRM_ELIGIBILITY = "participants.confirm_eligibility"

_VIEW = [
    f"{app}.view_{model}"
    for app, models in {
        "participants": [
            "protocol",
            "eligibilitycriterion",
            "site",
            "participant",
            "transition",
            "eligibilityanswer",
            "contactattempt",
            "resource",
            "sitecapacity",
            "siteclosure",
        ],
        "scheduling": [
            "phase",
            "visitdefinition",
            "visit",
            "reminderrule",
            "reminder",
            "sitedigest",
            "protocolversion",
            "versionactivation",
            "versiontakeup",
            "calendarfeed",
        ],
    }.items()
    for model in models
]
_MANAGE = [
    "participants.add_participant",
    "participants.change_participant",
    "participants.add_transition",
    "participants.add_eligibilityanswer",
    "participants.change_eligibilityanswer",
    "scheduling.add_visit",
    "scheduling.change_visit",
    "participants.add_siteclosure",
    "participants.change_siteclosure",
    "participants.delete_siteclosure",
    "participants.add_contactattempt",
    # A participant's re-consent to a version in force at their site.
    "scheduling.add_versiontakeup",
    # A site's calendar feed made, and revoked (docs/calendar-feeds.md).
    "scheduling.add_calendarfeed",
    "scheduling.change_calendarfeed",
]
# The site's clinic calendar besides closures: open days and holidays (on the site page) and
# capacity per resource. Not the resources themselves: a resource is what the protocol's visit
# definitions occupy, shared by every site, and is kept with the plan by administrators.
_CALENDAR = [
    "participants.change_site",
    "participants.add_sitecapacity",
    "participants.change_sitecapacity",
    "participants.delete_sitecapacity",
    # A released protocol version put in force at the site, after local approval.
    "scheduling.add_versionactivation",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    COORDINATOR: _VIEW + _MANAGE,
    INVESTIGATOR: _VIEW + _MANAGE + [CONFIRM_ELIGIBILITY],
    MONITOR: _VIEW,
    SITE_MANAGER: _VIEW + _MANAGE + _CALENDAR,
}

# The demo's staff: username → (role, site codes).
DEMO_STAFF: dict[str, tuple[str, tuple[str, ...]]] = {
    "coordinator-ocn": (COORDINATOR, ("OCN",)),
    "coordinator-ber": (COORDINATOR, ("BER",)),
    "investigator-ocn": (INVESTIGATOR, ("OCN",)),
    "investigator-ber": (INVESTIGATOR, ("BER",)),
    "monitor": (MONITOR, ("OCN", "BER")),
    "manager-ocn": (SITE_MANAGER, ("OCN",)),
}


def sync_roles(group_model, permission_model) -> None:
    """Create the role groups and give each exactly its permissions (idempotent).

    Takes the models as arguments so the data migration can pass its historical ones.
    """
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            wanted.extend(
                permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(wanted)


def ensure_roles() -> None:
    """The role groups, with permissions, on the live models (after a flush, say)."""
    from django.contrib.auth.models import Group, Permission

    sync_roles(Group, Permission)


def ensure_demo_staff(password: str) -> list[str]:
    """Create the demo's staff users (if missing) with their role and sites; return usernames.

    Existing users keep their password; their group and sites are set to the demo's.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from .models import Site, SiteMembership

    ensure_roles()
    User = get_user_model()
    for username, (role, site_codes) in DEMO_STAFF.items():
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        if created:
            user.set_password(password)
            user.save()
        user.groups.set([Group.objects.get(name=role)])
        for site in Site.objects.filter(code__in=site_codes):
            SiteMembership.objects.get_or_create(user=user, site=site)
    return list(DEMO_STAFF)


def sees_all_sites(user) -> bool:
    return bool(user.is_active and user.is_superuser)


def site_ids(user) -> frozenset[int]:
    """Ids of the sites ``user`` is a member of (cached on the user object for the request)."""
    return _memberships(user)[0]


def member_of_every_site(user) -> bool:
    """True when ``user`` is a member of every site there is (a network's monitor): their
    scope is then no filter at all."""
    return _memberships(user)[1]


def member_site_zones(user) -> frozenset[str]:
    """The IANA time zones of the sites ``user`` is a member of (the same one query)."""
    return _memberships(user)[2]


def _memberships(user) -> tuple[frozenset[int], bool, frozenset[str]]:
    """The user's sites, whether they are all the sites, and their time zones, in one query a
    request."""
    cached = getattr(user, "_trialsite_memberships", None)
    if cached is None:
        from django.db.models import Exists, OuterRef

        from .models import Site, SiteMembership

        rows = list(
            Site.objects.annotate(
                member=Exists(SiteMembership.objects.filter(user_id=user.pk, site=OuterRef("pk")))
            )
            .order_by()
            .values_list("pk", "member", "timezone")
        )
        ids = frozenset(pk for pk, member, _ in rows if member)
        zones = frozenset(zone for _, member, zone in rows if member)
        cached = user._trialsite_memberships = (ids, bool(ids) and len(ids) == len(rows), zones)
    return cached


def scope_to_sites(queryset: QuerySet, user, site_path: str = "site") -> QuerySet:
    """``queryset`` narrowed to rows whose ``site_path`` lies in the user's sites. For a
    member of every site nothing is narrowed: a join to the sites of every row would cost a
    network's monitor a walk of the whole table where an index gives the page."""
    if sees_all_sites(user):
        return queryset
    if not user.is_active or not user.is_staff:
        return queryset.none()
    if member_of_every_site(user):
        return queryset
    lookup = "pk__in" if site_path == "" else f"{site_path}__in"
    return queryset.filter(**{lookup: site_ids(user)})


def user_sites(user) -> QuerySet:
    """The sites ``user`` works at (every site for a superuser)."""
    from .models import Site

    return scope_to_sites(Site.objects.all(), user, "")


def may_confirm_eligibility(user) -> bool:
    return user.has_perm(CONFIRM_ELIGIBILITY)


def refusal(user, permissions=(), sites=()) -> str | None:
    """Why ``user`` may not do what needs ``permissions`` at ``sites``, in one sentence, or
    None: the same rule as the admin's (the role's permissions, and only the sites the user
    works at; a superuser may do everything everywhere). Used by every staff command for its
    ``--by`` user, so a command never does more than that user could do in the admin."""
    if not user.is_active or not user.is_staff:
        return f"{user.get_username()} is not an active staff user."
    missing = [name for name in permissions if not user.has_perm(name)]
    if missing:
        return (
            f"{user.get_username()} may not do this: their role lacks " + ", ".join(missing) + "."
        )
    if sees_all_sites(user):
        return None
    outside = sorted({site.code for site in sites if site.pk not in site_ids(user)})
    if outside:
        return f"{user.get_username()} does not work at {', '.join(outside)}."
    return None
