"""The ``desam`` pytest plugin (entry point ``pytest11``).

It will provide fixtures for a running :class:`~desam_testing.FakeScheduler`
and connected clients, and options that point the same fixtures at a real
scheduler. It registers nothing yet.
"""
