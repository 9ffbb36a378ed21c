"""Launch matching: is an article a launch story, about which launch, and where it stands.

- ``knowledge``: the knowledge base of vehicles, sites, agencies and mission series, loaded
  from ``tables/*.toml`` through a schema, with the Aho-Corasick scan that finds them in text.
- ``cues``: the word patterns of the rubric (launched, failed, scrubbed, upcoming, and the
  classes it excludes on purpose).
- ``matcher``: :class:`~handlers.matching.matcher.LaunchMatcher`, the rules that decide with
  those cues whether a story is about a launch and its status (the headline decides, the
  summary fills in), and read the entities and event key of the launch.
- ``dates``: the launch day and time a story gives, anchored on its publication time.
"""
