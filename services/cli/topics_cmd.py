"""`tidings topics ensure`: create the registry's Kafka topics (services/common/topics.py, and
their DLQs) that do not exist, with the services' own code (bus.ensure_topics), and say which
it created and which were there."""

from __future__ import annotations

import asyncio

import typer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from services.common.bus import ensure_topics, topic_specs
from services.common.config import Settings, get_settings

topics_cli = typer.Typer(help="The Kafka topics of the registry.", no_args_is_help=True)


async def _topic_names(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def ensure(settings: Settings) -> list[tuple[str, int, str]]:
    """(topic, partitions, "created" | "existed" | "missing") for each registry topic."""
    before = await _topic_names(settings.kafka_bootstrap)
    await ensure_topics(settings)
    after = await _topic_names(settings.kafka_bootstrap)
    rows = []
    for spec in topic_specs(settings):
        status = (
            "existed" if spec.name in before else "created" if spec.name in after else "missing"
        )
        rows.append((spec.name, spec.num_partitions, status))
    return rows


@topics_cli.command("ensure")
def ensure_cmd(
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap (default: TIDINGS_KAFKA_BOOTSTRAP)"
    ),
) -> None:
    """Create the registry's topics that do not exist (partitions: TIDINGS_KAFKA_PARTITIONS)."""
    settings = get_settings()
    if bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
    if not settings.kafka_bootstrap:
        raise typer.BadParameter("no Kafka: give --bootstrap or set TIDINGS_KAFKA_BOOTSTRAP")
    rows = asyncio.run(ensure(settings))
    table = Table(title=f"topics on {settings.kafka_bootstrap}")
    for column in ("topic", "partitions", "status"):
        table.add_column(column)
    for name, partitions, status in rows:
        shown = str(partitions) if status == "created" else ""
        table.add_row(name, shown, status)
    Console().print(table)
    created = sum(1 for r in rows if r[2] == "created")
    existed = sum(1 for r in rows if r[2] == "existed")
    typer.echo(f"{created} created, {existed} existed")
    if any(r[2] == "missing" for r in rows):
        raise typer.Exit(1)
