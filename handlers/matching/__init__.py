"""Launch matching: is an article a launch story, about which launch, and where it stands.

- ``knowledge``: the knowledge base of vehicles, sites, agencies and mission series, loaded
  from ``tables/*.toml`` through a schema, with the Aho-Corasick scan that finds them in text.
- ``cues``: the word patterns of the rubric (launched, failed, scrubbed, upcoming, and the
  classes it excludes on purpose).
- ``matcher``: :class:`~handlers.matching.matcher.LaunchMatcher`, which reads one article:
  is it a launch story (the headline decides, the summary fills in), which launch, what
  status; start here.
- ``status``: the status from the cues (and ground tests, deployments, round-ups).
- ``entities``: mission, vehicle and crewed as a story names them.
- ``dates``: the launch day and time a story gives, anchored on its publication time.
- ``text``: cleaned summaries, their lead, slugs and event keys.
"""
