"""Sending the outbox: the dispatch run (``dispatch``) and its steps: claiming due rows
(``claims``), deciding and sending one claimed row once (``sending``) and recording what became
of it (``outcomes``); the mail server's connection and what its answers mean (``mailer``,
``smtp``), the messages (``emails``), the coordinator digest (``digest``) and whether dispatch
works (``dispatch_health``). Above the timeline and the replies (a reminder carries reply links)."""
