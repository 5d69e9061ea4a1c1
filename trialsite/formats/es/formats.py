"""Staff formats in this language: ISO 8601, the same in every language (trialsite.formats)."""

from trialsite.formats.iso import *  # noqa: F403
