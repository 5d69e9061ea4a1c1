"""A participant's answers to a reminder: the signed one-action links and what they do
(``answers``, with staff recording an answer given by phone), their public pages (``views``)
and addresses (``urls``). Above the timeline; below mail, whose messages carry the links."""
