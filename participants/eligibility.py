"""Eligibility: answering the protocol's criteria and confirming a participant eligible."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import roles
from .models import EligibilityAnswer, EligibilityCriterion, Participant, Status, Transition
from .services import record_transition


def checklist(
    participant: Participant,
) -> list[tuple[EligibilityCriterion, EligibilityAnswer | None]]:
    """Every criterion of the participant's protocol (inclusions first) with its answer."""
    answers = {
        a.criterion_id: a
        for a in EligibilityAnswer.objects.filter(participant=participant).select_related(
            "answered_by"
        )
    }
    criteria = EligibilityCriterion.objects.filter(protocol_id=participant.protocol_id).order_by(
        "kind", "order"
    )
    return [(criterion, answers.get(criterion.pk)) for criterion in criteria]


def unmet(participant: Participant) -> list[str]:
    """Sentences saying what stands in the way of eligibility (empty when eligible)."""
    problems = []
    for criterion, answer in checklist(participant):
        label = f"{criterion.get_kind_display()} {criterion.order}"
        if answer is None:
            problems.append(f"{label} is not answered.")
        elif not answer.is_met:
            problems.append(
                f"{label} is not met."
                if criterion.kind == EligibilityCriterion.Kind.INCLUSION
                else f"{label} is present."
            )
    return problems


@transaction.atomic
def answer_criteria(
    participant: Participant, answers: dict[int, str], *, by=None, note: str = ""
) -> int:
    """Record answers (criterion id → "yes"/"no") while the participant is in screening.
    Changing a saved answer needs a note, kept as the reason in its history. All or nothing;
    returns how many answers were saved."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.status != Status.SCREENING:
        raise ValidationError(
            {
                "answer": "Eligibility is answered during screening; this participant is "
                f"{participant.get_status_display().lower()}."
            }
        )
    criteria = {
        c.pk: c for c in EligibilityCriterion.objects.filter(protocol_id=participant.protocol_id)
    }
    existing = {a.criterion_id: a for a in participant.eligibility_answers.all()}
    changed = 0
    for criterion_id, value in answers.items():
        if criterion_id not in criteria:
            raise ValidationError({"answer": "That criterion is not part of this protocol."})
        if value not in EligibilityAnswer.Answer.values:
            raise ValidationError({"answer": f"“{value}” is not an answer (yes or no)."})
        answer = existing.get(criterion_id)
        if answer is not None and answer.answer == value:
            continue
        if answer is None:
            answer = EligibilityAnswer(participant=participant, criterion=criteria[criterion_id])
            answer._change_reason = note or "Answered"
        elif not note:
            criterion = criteria[criterion_id]
            raise ValidationError(
                {
                    "note": f"{criterion.get_kind_display()} {criterion.order} was answered "
                    f"“{answer.answer}”; changing an answer needs a note saying why."
                }
            )
        else:
            answer._change_reason = note
        answer.answer = value
        answer.note = note
        answer.answered_by = by
        answer.answered_at = timezone.now()
        if by is not None:
            answer._history_user = by
        answer.save()
        changed += 1
    return changed


@transaction.atomic
def confirm_eligibility(
    participant: Participant,
    *,
    on: datetime.date,
    by,
    reason: str = "",
    via: str = "admin",
    now=None,
) -> Transition:
    """An investigator confirms eligibility: every inclusion criterion met, no exclusion
    present. Records the ``enrolled`` transition through the lifecycle service."""
    if by is None or not roles.may_confirm_eligibility(by):
        raise ValidationError({"by": "Only an investigator can confirm eligibility."})
    problems = unmet(participant)
    if problems:
        raise ValidationError({"answer": "Eligibility cannot be confirmed: " + " ".join(problems)})
    return record_transition(
        participant,
        Status.ENROLLED,
        on=on,
        reason=reason or "Eligibility confirmed by the investigator",
        by=by,
        via=via,
        now=now,
    )
