"""Protocol versions in a real browser (issue 24), on a 390 px phone: a site manager activates a
released version at Oceanside, previewed then confirmed; a coordinator opens the re-consent
form; every page fits the phone and passes axe-core at WCAG 2.1 AA (tests/phone.py)."""

import datetime

import pytest
from django.urls import reverse

from scheduling.models import VersionActivation, VisitDefinition
from scheduling.timeline import versions
from tests.phone import (
    PHONE,
    axe_violations,
    page_width,
    participant_in_treatment,
    signed_in,
    wider_than_viewport,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def released(protocol, clerk, *, needs_reconsent=False, approved_on=None):
    """A new version of ``protocol`` with a follow-up visit at Month 2 (FU2), released."""
    draft = versions.new_draft(protocol, by=clerk, note="Amendment")
    draft.approved_on = approved_on or datetime.date(2026, 1, 1)
    draft.needs_reconsent = needs_reconsent
    draft.save()
    VisitDefinition.objects.create(
        protocol=protocol,
        version=draft,
        phase=draft.phases.get(code="follow_up"),
        order=10 + int(draft.number.split(".")[0]),
        code=f"FU2V{draft.number.split('.')[0]}",
        name="Follow-up Month 2",
        offset=2,
        unit="months",
        window_before=14,
        window_after=14,
    )
    return versions.release(draft, by=clerk)


def checked(page, name, found):
    """The page fits the phone and axe finds nothing serious; what does not goes in ``found``."""
    problems = []
    if page_width(page) != PHONE["width"]:
        problems.append(f"{page_width(page)} px wide: {wider_than_viewport(page)}")
    problems += axe_violations(page)
    if problems:
        found[name] = problems


def test_a_site_manager_activates_a_version_on_a_phone_previewed_then_confirmed(
    browser, live_server, make_participant, site_ocn, staff, protocol, clerk
):
    participant = participant_in_treatment(make_participant, site_ocn)
    v2 = released(protocol, clerk)
    found = {}
    page = signed_in(browser, live_server, "manager-ocn", bypass_csp=True)

    page.goto(
        f"{live_server.url}{reverse('admin:scheduling_protocolversion_change', args=[v2.pk])}"
    )
    checked(page, "released version", found)
    page.click("#activate-link")
    checked(page, "activation form", found)
    page.fill("#id_on", site_ocn.today().isoformat())
    page.fill("#id_reason", "Local approval")
    page.click("#preview-activation")
    page.wait_for_selector("#version-preview")  # the preview page, once it has loaded
    assert page.locator(f"[data-participant='{participant.subject_id}']").is_visible()
    assert not VersionActivation.objects.filter(version=v2).exists()
    checked(page, "activation preview", found)
    page.click("#confirm-activation")
    page.wait_for_url(f"**{reverse('admin:scheduling_protocolversion_change', args=[v2.pk])}")
    assert VersionActivation.objects.filter(version=v2, site=site_ocn).exists()
    assert page.locator("#version-activations [data-site='OCN']").is_visible()

    page.goto(
        f"{live_server.url}{reverse('admin:scheduling_protocolversion_compare', args=[v2.pk])}"
    )
    assert page.locator("#version-changes [data-kind='added']").first.is_visible()
    checked(page, "comparison", found)
    page.context.close()

    v3 = released(protocol, clerk, needs_reconsent=True)
    versions.activate_version(
        v3, site_ocn, on=site_ocn.today(), by=clerk, reason="Local approval of 3.0"
    )
    page = signed_in(browser, live_server, "coordinator-ocn", bypass_csp=True)
    page.goto(
        f"{live_server.url}/admin/participants/participant/{participant.pk}/change/#protocol-version"
    )
    checked(page, "participant page", found)
    page.click("#reconsent-link")
    page.fill("#id_reason", "Signed the new consent form")
    page.click("#preview-reconsent")
    page.wait_for_selector("#version-preview")
    assert page.locator(f"[data-participant='{participant.subject_id}']").is_visible()
    checked(page, "re-consent preview", found)
    page.click("#confirm-reconsent")
    page.wait_for_url(f"**/admin/participants/participant/{participant.pk}/change/**")
    assert "Follows version 3.0" in page.locator("#version-followed").inner_text()
    page.goto(f"{live_server.url}/admin/")
    checked(page, "dashboard", found)
    page.context.close()
    assert found == {}
