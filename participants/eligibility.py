"""Eligibility: answering the protocol's criteria, and the rule of enrolment.

Each criterion asks "Is this true of the participant?" and names the answer that qualifies
(``EligibilityCriterion.qualifying_answer``). Enrolment, by whatever entry point, is an
investigator confirming eligibility with every criterion answered that way:
:func:`refuse_enrolment` is that rule, and ``lifecycle.record_transition`` applies it to every
move to *enrolled* (``lifecycle.confirm_eligibility`` is the investigator's action).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import roles
from .history import stamp
from .models import EligibilityAnswer, EligibilityCriterion, Participant, Status


def checklist(
    participant: Participant,
) -> list[tuple[EligibilityCriterion, EligibilityAnswer | None]]:
    """Every criterion of the participant's protocol (inclusions first, then exclusions, each in
    order) with its answer."""
    answers = {
        a.criterion_id: a
        for a in EligibilityAnswer.objects.filter(participant=participant).select_related(
            "answered_by", "criterion"
        )
    }
    # The model's ordering: inclusions first.
    criteria = EligibilityCriterion.objects.filter(protocol_id=participant.protocol_id)
    return [(criterion, answers.get(criterion.pk)) for criterion in criteria]


def unmet(participant: Participant) -> list[str]:
    """Sentences saying what stands in the way of eligibility (empty when eligible)."""
    problems = []
    for criterion, answer in checklist(participant):
        if answer is None:
            problems.append(f"{criterion.label} is not answered.")
        elif not answer.is_met:
            problems.append(
                f"{criterion.label} is not met."
                if criterion.kind == EligibilityCriterion.Kind.INCLUSION
                else f"{criterion.label} is present."
            )
    return problems


def refuse_enrolment(participant: Participant, by) -> None:
    """The rule of enrolment, whatever the entry point (admin, command, API): only a user who
    may confirm eligibility (an investigator) of the participant's site enrols, and only a
    participant whose every criterion is answered with its qualifying answer. Raises
    ValidationError saying why not."""
    if by is None or not roles.may_confirm_eligibility(by):
        who = f"{by} may not" if by is not None else "no user was named"
        raise ValidationError(
            {
                "by": "Only an investigator can confirm eligibility. Enrolment is recorded by "
                f"an investigator confirming it; {who}."
            }
        )
    elsewhere = roles.refusal(by, (), [participant.site])
    if elsewhere:
        raise ValidationError(
            {"by": f"Only an investigator of the participant's site enrols: {elsewhere}"}
        )
    problems = unmet(participant)
    if problems:
        raise ValidationError({"answer": "Eligibility cannot be confirmed: " + " ".join(problems)})


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
        elif not note:
            criterion = criteria[criterion_id]
            raise ValidationError(
                {
                    "note": f"{criterion.label} was answered "
                    f"“{answer.answer}”; changing an answer needs a note saying why."
                }
            )
        answer.answer = value
        answer.note = note
        answer.answered_by = by
        answer.answered_at = timezone.now()
        stamp(answer, by=by, reason=note or "Answered")
        answer.save()
        changed += 1
    return changed
