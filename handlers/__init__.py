"""Platform-neutral pipeline: fetch, parse, match, resolve and hand alerts to a publisher.

Nothing in this package imports ``discord``, ``storage`` or ``bot``.
"""
