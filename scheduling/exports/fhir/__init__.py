"""The FHIR export (issue 25): a protocol, its schedule's versions, its participants and their
visits as one Bundle of FHIR R4B (4.3) resources, validated by ``fhir.resources.R4B``. The
mapping, the status tables and why R4B: docs/fhir.md. Pure mappings in ``statuses`` and
``timing``; the resources in ``resources``; the read and the Bundle in ``bundle``."""
