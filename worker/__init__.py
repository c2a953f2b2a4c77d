"""Background work: RQ job functions, the queue factory and the embedded worker.

A job takes ids only, opens its own app context, scope and session, and calls services in
``app/``. Nothing in ``app/`` imports this package except the enqueue helper in
``app.jobs.services``.
"""
