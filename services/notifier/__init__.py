"""Notifier: tells every party what it must do next, and by when.

Consumes domain events on ``lawlink.out.>``, decides from one table (:mod:`.recipients`) who
must hear about each, publishes one notification per recipient on ``lawlink.notify.<agency>``,
keeps them for the console's bell and digest (:mod:`.queries`), and pushes them to agencies'
webhooks (:mod:`.webhooks`).
"""
