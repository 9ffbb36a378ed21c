"""Launch matching: is an article a launch story, about which launch, and where it stands.

- ``knowledge``: the knowledge base of vehicles, sites, agencies and mission series, loaded
  from ``tables/*.toml`` through a schema, with the Aho-Corasick scan that finds them in text.
- ``matcher``: :class:`~handlers.matching.matcher.LaunchMatcher`, the rules that decide
  whether a story is about a launch, its status (from the headline's tense and cues), and
  the entities and event key of the launch.
- ``dates``: the launch day and time a story gives, anchored on its publication time.
"""
