"""DM, the Demographics dataset (SDTMIG 3.4): one record per subject who is in SE and SV,
read from what the app records. It records no birth date, sex, race, exposure or death:
SEX is U (Unknown, it is Required), and the Expected variables it cannot fill (RFXSTDTC,
RFXENDTC, DTHDTC, DTHFL, AGE, AGEU, RACE, ACTARMUD) are null columns, as SDTMIG 3.4 section
4.1.5 wants them. No name, email, phone or address. See docs/sdtm.md "DM"."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from participants.models import LEFT_STATUSES, ContactAttempt, Participant, Status
from scheduling.exports.sdtm import mapping


class DatasetError(Exception):
    """The data cannot be written as SDTM: one sentence saying what to fix, and that nothing
    was written."""


def calls_that_reached(participants: Iterable[Participant]) -> dict[int, list[datetime.date]]:
    """The days, at each participant's site, of the contact attempts that reached them (a
    contact, for RFPENDTC), in one query."""
    zones = {p.pk: p.site.zone for p in participants}
    days: dict[int, list[datetime.date]] = {}
    for participant_id, at in ContactAttempt.objects.filter(
        participant_id__in=list(zones), outcome=ContactAttempt.Outcome.REACHED
    ).values_list("participant_id", "at"):
        days.setdefault(participant_id, []).append(at.astimezone(zones[participant_id]).date())
    return days


def site_country(site) -> str:
    """COUNTRY of the site's subjects: its country (``holiday_country``, the country of its
    public holidays) as ISO 3166-1 alpha-3. COUNTRY is Required, so a site without one is
    refused."""
    country = mapping.country_alpha3(site.holiday_country)
    if country:
        return country
    if not site.holiday_country.strip():
        problem = "has no country"
    else:
        problem = f"country {site.holiday_country.strip()} has no ISO 3166-1 alpha-3 code"
    raise DatasetError(
        f"site {site.code}: {problem}, which DM's COUNTRY needs (set the site's "
        "“public holidays of” country, e.g. US); nothing was written."
    )


def _date(day: datetime.date | None) -> str:
    return day.isoformat() if day else ""


def record(
    study_id: str,
    participant: Participant,
    *,
    subject: str,
    day_one: datetime.date | None,
    assigned: bool,
    contacts: Iterable[datetime.date],
) -> dict:
    """One subject's DM record. ``day_one``: the start of their Day 1 element (RFSTDTC, from
    which SV counts study days; None: never treated); ``assigned``: they were enrolled (the
    one arm is assigned on enrolment); ``contacts``: the days they were seen or reached."""
    left = participant.left_on if participant.status in LEFT_STATUSES else None
    arms = mapping.arms(
        treated=day_one is not None,
        screen_failure=participant.status == Status.SCREEN_FAILED,
        assigned=assigned,
    )
    return {
        "STUDYID": study_id,
        "DOMAIN": "DM",
        "USUBJID": subject,
        "SUBJID": mapping.subject_id_in_study(study_id, participant.subject_id),
        "RFSTDTC": _date(day_one),
        # The reference period ends when a treated participant leaves; open while they stay.
        "RFENDTC": _date(left if day_one else None),
        "RFXSTDTC": "",  # no exposure is recorded: an infusion visit is not a dose
        "RFXENDTC": "",
        "RFICDTC": participant.consent_date.isoformat(),
        "RFPENDTC": _date(mapping.end_of_participation(participant.consent_date, left, contacts)),
        "DTHDTC": "",  # the app records no death
        "DTHFL": "",
        "SITEID": participant.site.code,
        "AGE": None,  # no birth date or age is recorded
        "AGEU": "",
        "SEX": mapping.SEX_UNKNOWN,
        "RACE": "",
        "ARMCD": arms.armcd,
        "ARM": arms.arm,
        "ACTARMCD": arms.actarmcd,
        "ACTARM": arms.actarm,
        "ARMNRS": arms.armnrs,
        "ACTARMUD": "",  # nobody follows an unplanned arm: there is one
        "COUNTRY": site_country(participant.site),
    }


def claim_usubjid(owners: dict[str, str], usubjid: str, subject_id: str) -> None:
    """DM has one record per USUBJID: record in ``owners`` that ``subject_id`` makes
    ``usubjid``, refusing a second subject id that makes the same one (``101-004`` and
    ``SLE-001-101-004``)."""
    other = owners.setdefault(usubjid, subject_id)
    if other != subject_id:
        raise DatasetError(
            f"USUBJID {usubjid}: subjects {other} and {subject_id} both make it (they differ "
            "only by the study's code before them); rename one; nothing was written."
        )
