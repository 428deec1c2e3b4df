"""List Tencent Cloud IM's REST v4 commands (docs/tencent_rest_commands.tsv) beside Tidings' routes,
read from the gateway's routing table (services/gateway/rest_v4 SERVICES), and print the counts.
tests/unit/test_tencent_command_list.py fails when a command is neither routed nor left out below
with its reason, and when the README's count is not the one printed here.

    python scripts/tencent_commands.py            # every command
    python scripts/tencent_commands.py --missing  # only those not routed
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS_FILE = ROOT / "docs" / "tencent_rest_commands.tsv"
E2E_TESTS = ROOT / "tests" / "e2e"

# The public "RESTful API List" (trtc.io/document/34621): the list the README counts against.
PUBLIC_LIST = "en"

# Tencent commands that Tidings leaves out, each with why.
LEFT_OUT: dict[str, str] = {
    **dict.fromkeys(
        (
            "im_cos_msg/forbid_illegal_object",
            "im_cos_msg/allow_banned_object",
            "im_cos_msg/get_cos_sig",
        ),
        "Tidings stores no files: rich-media elements carry URLs of the app's own storage, so "
        "there is no object of Tidings' to ban, unban or sign",
    ),
    **dict.fromkeys(
        (
            "im_msg_audit_mgr/add_local_audit_keywords",
            "im_msg_audit_mgr/delete_local_audit_keywords",
            "im_msg_audit_mgr/get_local_audit_keywords",
            "im_msg_audit_mgr/get_cloud_audit_keywords_ids",
            "im_msg_audit_mgr/get_cloud_audit_keywords",
            "im_msg_audit_mgr/add_cloud_audit_keywords",
            "im_msg_audit_mgr/delete_cloud_audit_keywords",
            "im_msg_audit/content_moderation",
            "im_msg_audit/batch_content_moderation",
        ),
        "Tencent's paid content-moderation add-on (its own scoring models and word libraries); "
        "Tidings moderates with the sensitive-word lists (openim_dirty_words, the console) and "
        "the before-send callbacks",
    ),
    **dict.fromkeys(
        (
            "user_search/search",
            "group_search/search",
            "group_member_search/search",
            "im_open_search/set_visibility",
            "im_open_search/get_no_visibility",
        ),
        "Tencent's paid cloud-search add-on, a full-text index of users, groups and members; "
        "Tidings keeps no search index",
    ),
    **dict.fromkeys(
        (
            "official_account_open_http_svc/create_official_account",
            "official_account_open_http_svc/destroy_official_account",
            "official_account_open_http_svc/modify_official_account_base_info",
            "official_account_open_http_svc/send_official_account_msg",
            "official_account_open_http_svc/get_official_account_info",
            "official_account_open_http_svc/get_subscriber_info",
            "official_account_open_http_svc/official_account_msg_recall",
            "official_account_open_http_svc/official_account_msg_get_simple",
            "official_account_open_http_svc/add_subscriber",
            "official_account_open_http_svc/delete_subscriber",
            "official_account_open_http_svc/modify_subscriber_info",
            "official_account_open_http_svc/get_subscribed_official_account_list",
        ),
        "official accounts are a product of their own beside the chat (subscriber broadcasts), "
        "outside the REST API list and outside Tidings' scope",
    ),
}

# Tidings routes that answer under a second name: route -> the Tencent command it is.
ALIASES: dict[str, str] = {
    "openim/querystate": "openim/query_online_status",
    "openim/import_msg": "openim/importmsg",
    "group_open_http_svc/get_group_attr": "group_open_attr_http_svc/get_group_attr",
    # The project's SPEC names Tencent's im_add_tag so.
    "all_member_push/im_set_tag": "all_member_push/im_add_tag",
}

# Services of Tidings' own, with no Tencent counterpart.
TIDINGS_SERVICES = frozenset({"tidings_push"})


@dataclass(frozen=True)
class TencentCommand:
    command: str
    category: str
    sources: frozenset[str]
    page: str


@dataclass(frozen=True)
class Row:
    command: str
    category: str
    sources: frozenset[str]
    status: str  # "routed", "left out" or "NOT ROUTED"
    aliases: tuple[str, ...]
    tests: tuple[str, ...]  # the e2e test files that call it


@dataclass(frozen=True)
class Counts:
    public_list: int
    public_list_routed: int
    documented: int
    documented_routed: int

    def sentence(self) -> str:
        return (
            f"{self.public_list_routed} of the {self.public_list} commands in Tencent's public "
            f"REST API list are routed, and {self.documented_routed} of the {self.documented} "
            "that Tencent documents in all"
        )


def load_commands(path: Path = COMMANDS_FILE) -> list[TencentCommand]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return [
        TencentCommand(
            row["command"],
            row["category"],
            frozenset(row["sources"].split(",")),
            row["page"],
        )
        for row in csv.DictReader(lines, delimiter="\t")
    ]


def tidings_routes() -> set[str]:
    # Imported here: run as a script, the repo root is put on sys.path first.
    from services.gateway.rest_v4 import SERVICES

    return {
        f"{service}/{command}" for service, commands in SERVICES.items() for command in commands
    }


def e2e_sources(folder: Path = E2E_TESTS) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("test_*.py"))}


def calling_tests(command: str, sources: Mapping[str, str]) -> tuple[str, ...]:
    """The test files that name both the command's service and the command, each quoted."""
    service, name = command.split("/", 1)
    return tuple(
        file
        for file, text in sources.items()
        if f'"{name}"' in text and (f'"{service}"' in text or f"{service}/{name}" in text)
    )


def compare(
    commands: Iterable[TencentCommand],
    routes: set[str],
    left_out: Mapping[str, str] = LEFT_OUT,
    tests: Mapping[str, str] | None = None,
) -> list[Row]:
    tests = e2e_sources() if tests is None else tests
    aliases_of: dict[str, list[str]] = {}
    for route, command in ALIASES.items():
        aliases_of.setdefault(command, []).append(route)
    rows = []
    for c in commands:
        if c.command in routes:
            status = "routed"
        elif c.command in left_out:
            status = "left out"
        else:
            status = "NOT ROUTED"
        aliases = tuple(sorted(aliases_of.get(c.command, ())))
        called = calling_tests(c.command, tests) if status == "routed" else ()
        rows.append(Row(c.command, c.category, c.sources, status, aliases, called))
    return rows


def extra_routes(commands: Iterable[TencentCommand], routes: set[str]) -> list[str]:
    """Routes that are neither a Tencent command, an alias nor a service of Tidings' own."""
    known = {c.command for c in commands} | set(ALIASES)
    return sorted(
        r for r in routes if r not in known and r.split("/", 1)[0] not in TIDINGS_SERVICES
    )


def count(rows: Iterable[Row]) -> Counts:
    rows = list(rows)
    public = [r for r in rows if PUBLIC_LIST in r.sources]
    return Counts(
        public_list=len(public),
        public_list_routed=sum(r.status == "routed" for r in public),
        documented=len(rows),
        documented_routed=sum(r.status == "routed" for r in rows),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--missing", action="store_true", help="list only what is not routed")
    args = parser.parse_args(argv)
    commands = load_commands()
    routes = tidings_routes()
    rows = compare(commands, routes)
    width = max(len(r.command) for r in rows)
    for r in rows:
        if args.missing and r.status == "routed":
            continue
        sources = ",".join(sorted(r.sources))
        also = "  also as " + ", ".join(r.aliases) if r.aliases else ""
        tested = "  tests: " + ", ".join(r.tests) if r.tests else ""
        print(f"{r.command:<{width}}  {sources:<10}  {r.status:<10}  {r.category}{also}{tested}")
    print("\nLeft out:")
    for reason in dict.fromkeys(LEFT_OUT.values()):
        names = [c for c, why in LEFT_OUT.items() if why == reason]
        print(f"- {', '.join(names)}: {reason}.")
    stray = extra_routes(commands, routes)
    for route in stray:
        print(f"{route:<{width}}  routed, but not a Tencent command: add it to the list or ALIASES")
    counts = count(rows)
    print(f"\n{counts.sentence()}.")
    unrouted = [r.command for r in rows if r.status == "NOT ROUTED"]
    if unrouted:
        print(f"neither routed nor left out with a reason: {', '.join(unrouted)}")
    untested = [r.command for r in rows if r.status == "routed" and not r.tests]
    if untested:
        print(f"routed, but no e2e test calls it: {', '.join(untested)}")
    return 1 if unrouted or untested or stray else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
