import factory

from participants.models import Site


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Site {o.code}")
    timezone = "Europe/Berlin"
    coordinator_email = factory.LazyAttribute(lambda o: f"coordinator-{o.code.lower()}@example.org")
    address = "1 Clinic Road"
    phone = "+1 555 0100"
    # Open every day, so a test about the protocol's dates sees each appointment on its planned
    # date; tests of the clinic calendar set open days, holidays and closures themselves.
    open_days = "1234567"


INVESTIGATOR = "investigator"


def investigator():
    """A staff user with the Investigator role (who may confirm eligibility) at every site that
    exists when called: the tests' author of enrolments, by any entry point."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from participants import roles
    from participants.models import Site, SiteMembership

    user, _ = get_user_model().objects.get_or_create(
        username=INVESTIGATOR, defaults={"is_staff": True}
    )
    group = Group.objects.filter(name=roles.INVESTIGATOR).first()
    if group is None:  # after a transactional test's flush
        roles.ensure_roles()
        group = Group.objects.get(name=roles.INVESTIGATOR)
    user.groups.add(group)
    for site in Site.objects.exclude(memberships__user=user):
        SiteMembership.objects.get_or_create(user=user, site=site)
    return get_user_model().objects.get(pk=user.pk)  # no permission cache from before


def qualifying_answers(participant) -> dict[int, str]:
    """Criterion id → the answer that qualifies, for every criterion of the protocol."""
    from participants.models import EligibilityCriterion

    return {
        criterion.pk: criterion.qualifying_answer
        for criterion in EligibilityCriterion.objects.filter(protocol_id=participant.protocol_id)
    }


def enrol(participant, *, on, by=None, via="admin", reason="", now=None):
    """Enrol as the rule has it (every entry point): every criterion answered with its
    qualifying answer, then an investigator confirms eligibility. ``by`` must be one."""
    from participants import eligibility
    from participants.lifecycle import confirm_eligibility

    by = by or investigator()
    eligibility.answer_criteria(participant, qualifying_answers(participant), by=by)
    return confirm_eligibility(participant, on=on, by=by, via=via, reason=reason, now=now)


def move(participant, target, *, on, **kwargs):
    """``record_transition``, but enrolment goes through :func:`enrol` (eligibility first)."""
    from participants.lifecycle import record_transition
    from participants.models import Status

    if target == Status.ENROLLED:
        return enrol(participant, on=on, **{k: v for k, v in kwargs.items() if k != "reason"})
    return record_transition(participant, target, on=on, **kwargs)
