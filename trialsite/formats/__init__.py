"""Staff see and type dates and times one way in every language (ISO 8601), as the command line
and the exports write them: ``iso`` holds the formats, and a module per language of
``settings.LANGUAGES`` (``en``, which ``en-gb`` falls back to, ``de``, ``es``, ``fr``) takes
them, so a translated workspace never changes how a date is written. Numbers keep Django's
formats for the language."""
