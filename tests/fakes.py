"""Hand-written fakes for the pipeline's own ports."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.domain import DeliveryJob
from handlers.ports import PublishOutcome, PublishResult


@dataclass
class FakePublisher:
    """Records every job; scripted outcomes per channel, SENT otherwise."""

    target: str = "discord"
    sent: list[DeliveryJob] = field(default_factory=list)
    script: dict[int, list[PublishResult]] = field(default_factory=dict)
    next_message_id: int = 1000

    async def publish(self, job: DeliveryJob) -> PublishResult:
        planned = self.script.get(job.subscription.channel_id)
        if planned:
            result = planned.pop(0)
            if result.outcome is not PublishOutcome.SENT:
                return result
        self.sent.append(job)
        self.next_message_id += 1
        return PublishResult(PublishOutcome.SENT, message_id=job.message_id or self.next_message_id)
