"""A protocol's trial phase: its stage of clinical development (a Phase II study), as CDISC
Controlled Terminology codes it. Not one of the phases of its plan (screening, treatment,
follow-up), which CDISC calls epochs.

One table, the one home of each term: the CDISC submission value (codelist C66737, "Trial
Phase Response", TSPARMCD ``TPHASE``), its NCI Thesaurus code, how staff read it, and the
code of FHIR's ``research-study-phase`` code system (R4/R4B) when that system has one. The
SDTM TS dataset and the FHIR ResearchStudy read it; the model field takes its choices from
it. Sources checked: docs/sdtm.md "TS"."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class TrialPhase:
    value: str  # the CDISC submission value, stored in Protocol.trial_phase
    nci_code: str  # its NCI Thesaurus code (TSVALCD)
    label: str  # what staff read
    fhir_code: str  # research-study-phase code; "" when that code system has none


# CDISC CT C66737 (extensible), in the order of development. FHIR's code system has fewer
# terms: a sub-phase takes its phase's code ("phase-2" for IIa and IIb), Phase 0 is FHIR's
# "early-phase-1" ("formerly called Phase 0"), and Phase V and the three-phase and I/III
# combinations have none.
TRIAL_PHASES = (
    TrialPhase("PHASE 0 TRIAL", "C54721", _("Phase 0"), "early-phase-1"),
    TrialPhase("PHASE I TRIAL", "C15600", _("Phase I"), "phase-1"),
    TrialPhase("PHASE I/II TRIAL", "C15693", _("Phase I/II"), "phase-1-phase-2"),
    TrialPhase("PHASE I/II/III TRIAL", "C198366", _("Phase I/II/III"), ""),
    TrialPhase("PHASE I/III TRIAL", "C198367", _("Phase I/III"), ""),
    TrialPhase("PHASE II TRIAL", "C15601", _("Phase II"), "phase-2"),
    TrialPhase("PHASE IIA TRIAL", "C49686", _("Phase IIa"), "phase-2"),
    TrialPhase("PHASE IIB TRIAL", "C49688", _("Phase IIb"), "phase-2"),
    TrialPhase("PHASE II/III TRIAL", "C15694", _("Phase II/III"), "phase-2-phase-3"),
    TrialPhase("PHASE III TRIAL", "C15602", _("Phase III"), "phase-3"),
    TrialPhase("PHASE IIIA TRIAL", "C49687", _("Phase IIIa"), "phase-3"),
    TrialPhase("PHASE IIIB TRIAL", "C49689", _("Phase IIIb"), "phase-3"),
    TrialPhase("PHASE IV TRIAL", "C15603", _("Phase IV"), "phase-4"),
    TrialPhase("PHASE V TRIAL", "C47865", _("Phase V"), ""),
    TrialPhase("NOT APPLICABLE", "C48660", _("Not applicable"), "n-a"),
)
BY_VALUE = {phase.value: phase for phase in TRIAL_PHASES}
CHOICES = [(phase.value, phase.label) for phase in TRIAL_PHASES]
# The longest submission value, for the field's max_length.
LONGEST = max(len(phase.value) for phase in TRIAL_PHASES)


def trial_phase(value: str) -> TrialPhase | None:
    """The term stored as ``value``; None when blank (unknown) or not a term."""
    return BY_VALUE.get(value)
