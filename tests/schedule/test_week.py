"""Days of schedule polling and reminders on a fake clock (the bench's simulation, small)."""

from __future__ import annotations

from bench.schedule import simulate


async def test_two_days_keep_the_budget_and_send_every_reminder_once_on_time():
    result = await simulate(days=2, launches=8, budget=15, seed=3)
    assert result["max_sliding_hour"] <= 15
    assert result["reminders"] == result["expected"] > 0
    assert result["max"] <= 5.0


async def test_a_small_budget_is_never_exceeded():
    result = await simulate(days=1, launches=6, budget=2, seed=5)
    assert 0 < result["max_sliding_hour"] <= 2
