"""Every topic a consumer may dead-letter to is created with the others."""

from __future__ import annotations

from services.common import topics
from services.common.bus import topic_specs
from services.common.config import Settings


def test_every_consumed_topic_with_a_dlq_gets_it_created() -> None:
    names = {spec.name for spec in topic_specs(Settings())}
    assert topics.CALLBACKS_RETRY in topics.WITH_DLQ
    assert {t.dlq for t in topics.WITH_DLQ} <= names
    assert "im.callbacks.retry.dlq" in names
    assert topics.CONFIG.name in names
