"""deploy/kafka/topics.yaml creates every topic of the registry and the dead-letter topic of
each of WITH_DLQ, with the registry's partition counts: a topic missing there would be created
by the broker's defaults, or not at all with auto-creation off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.common import topics

TOPICS_YAML = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "topics.yaml"
# The prod partition count of the message-path topics (the registry leaves them to settings).
MESSAGE_PATH_PARTITIONS = 32


def declared() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(TOPICS_YAML.read_text(encoding="utf-8")) if d]
    return {d["spec"]["topicName"]: d for d in docs if d["kind"] == "KafkaTopic"}


def test_every_registry_topic_and_dead_letter_topic_is_declared() -> None:
    wanted = {t.name for t in topics.ALL} | {t.dlq for t in topics.WITH_DLQ}
    assert set(declared()) == wanted


def test_partitions_follow_the_registry() -> None:
    found = declared()
    for topic in topics.ALL:
        expected = topic.partitions or MESSAGE_PATH_PARTITIONS
        assert found[topic.name]["spec"]["partitions"] == expected, topic.name
    for topic in topics.WITH_DLQ:
        assert found[topic.dlq]["spec"]["partitions"] == 1, topic.dlq
