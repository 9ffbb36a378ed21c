"""The launch schedule: Launch Library 2's launches, the request budget that paces reading
them, and (built on these) exact times and reminders. News stays the primary source; the
schedule enriches it and its outage changes nothing but freshness."""
