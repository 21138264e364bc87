"""Typer application: command names, options and help texts. Bodies live in sibling modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from okrbridge import __version__

app = typer.Typer(
    name="okrbridge",
    help="Sync OKRs with Jira, GitHub Projects and Trello: key-result status on every task.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: Rich's help renderer imports a Markdown stack that doubles the start-up time
    # of `okrbridge --help` (see bench/bench_cli_startup.py). Commands still print with Rich.
    rich_markup_mode=None,
)
config_app = typer.Typer(
    help="Inspect the configuration.", no_args_is_help=True, rich_markup_mode=None
)
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
inbox_app = typer.Typer(
    help="See and act on the webhook inbox.", no_args_is_help=True, rich_markup_mode=None
)
webhooks_app = typer.Typer(
    help="Manage tool webhooks.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(inbox_app, name="inbox")
app.add_typer(webhooks_app, name="webhooks")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $OKRBRIDGE_CONFIG, then ./okrbridge.toml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
HostOption = Annotated[
    str | None, typer.Option(help="Listen address (default: web.host).", show_default=False)
]
PortOption = Annotated[
    int | None, typer.Option(help="Listen port (default: web.port).", show_default=False)
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"okrbridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show tracebacks (also OKRBRIDGE_DEBUG=1); errors are one line without."
        ),
    ] = False,
) -> None:
    """okrbridge keeps OKRs and the tools where the work happens in sync, both ways."""
    import os

    from okrbridge.cli.common import DEBUG_ENV, setup_cli_logging

    if debug:
        os.environ[DEBUG_ENV] = "1"
    setup_cli_logging()


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path(
        "okrbridge.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config (the README's worked example)."""
    from okrbridge.cli.basic import run_init

    run_init(path, force=force)


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the config: every problem with its file, line and key."""
    from okrbridge.cli.basic import run_config_check

    run_config_check(config)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply pending database migrations."""
    from okrbridge.cli.basic import run_db_upgrade

    run_db_upgrade(config)


@app.command()
def status(config: ConfigOption = None, json: JsonOption = False) -> None:
    """Show objectives, key results and initiatives with progress, status and reason."""
    from okrbridge.cli.status import run_status

    run_status(config, as_json=json)


@app.command()
def explain(
    task: Annotated[
        str,
        typer.Argument(
            metavar="INSTANCE:TASK",
            help="e.g. jira-mkt:MKT-12, github-game:acme/app#12, trello-launch:<card id or "
            "short link>.",
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Why a task maps where it does: each rule's conditions, its key results, its marks."""
    from okrbridge.cli.explain import run_explain

    run_explain(config, task)


@app.command()
def checkin(
    key_result: Annotated[str, typer.Argument(metavar="KR_ID", help="Key result id.")],
    value: Annotated[float, typer.Argument(help="The key result's current value.")],
    confidence: Annotated[
        str | None,
        typer.Option(
            metavar="[on_track|needs_attention|off_track]",
            help="Overrides the computed status until the next check-in.",
            show_default=False,
        ),
    ] = None,
    note: Annotated[str, typer.Option(help="A note kept with the check-in.")] = "",
    config: ConfigOption = None,
) -> None:
    """Record a check-in (a value reported by a person) for a key result."""
    from okrbridge.cli.basic import run_checkin

    run_checkin(config, key_result, value, confidence=confidence, note=note)


@app.command()
def sync(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Pull, plan and print the writes; write nothing.")
    ] = False,
    connector: Annotated[
        list[str] | None, typer.Option("--connector", help="Only this connector instance.")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Full pass: re-read everything, detect deletions.")
    ] = False,
    json: JsonOption = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Also write every planned write (labels and whole comments) to this file; "
            "the terminal shows the first ones per connector.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Pull tasks, compute key results and push status labels and comments."""
    from okrbridge.cli.sync import run_sync_command

    run_sync_command(
        config, dry_run=dry_run, connectors=connector or [], full=full, as_json=json, out=out
    )


@app.command()
def cleanup(
    config: ConfigOption = None,
    connector: Annotated[
        list[str] | None, typer.Option("--connector", help="Only this connector instance.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
    keep_label_definitions: Annotated[
        bool,
        typer.Option(
            "--keep-label-definitions",
            help="Keep the status label definitions the bridge created on boards/repositories.",
        ),
    ] = False,
) -> None:
    """Remove every label, comment and field value the bridge wrote and give back what it
    replaced, touching nothing else (also from an empty store: the tool is scanned)."""
    from okrbridge.cli.sync import run_cleanup_command

    run_cleanup_command(
        config,
        connectors=connector or [],
        dry_run=dry_run,
        keep_label_definitions=keep_label_definitions,
    )


@app.command()
def demo(
    directory: Annotated[
        Path | None,
        typer.Option(help="Where to keep the demo's config and store (default: a data dir)."),
    ] = None,
) -> None:
    """Run a full sync of the worked example against the built-in tool simulators (offline)."""
    from okrbridge.cli.demo import run_demo

    run_demo(directory)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="First port to serve on (0: any free).")] = 0,
) -> None:
    """Serve the tool simulators, seeded, and print a matching config to try against them."""
    from okrbridge.cli.demo import run_sandbox

    run_sandbox(port)


@app.command()
def daemon(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run the scheduler and the webhook receiver in one long-running process."""
    from okrbridge.cli.daemon import run_daemon

    raise typer.Exit(run_daemon(config, host=host, port=port))


@inbox_app.command("list")
def inbox_list(
    config: ConfigOption = None,
    status: Annotated[
        str | None,
        typer.Option(
            metavar="[pending|done|parked]",
            help="Only deliveries in this state.",
            show_default=False,
        ),
    ] = None,
    connector: Annotated[
        str | None, typer.Option(help="Only this connector instance.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    json: JsonOption = False,
) -> None:
    """List webhook deliveries with their status, attempts and last error."""
    from okrbridge.cli.inbox import run_inbox_list

    run_inbox_list(config, status=status, connector=connector, limit=limit, as_json=json)


@inbox_app.command("retry")
def inbox_retry(
    ids: Annotated[
        list[int] | None, typer.Argument(metavar="[ID]...", help="Inbox ids to retry.")
    ] = None,
    all_parked: Annotated[
        bool, typer.Option("--all-parked", help="Retry every parked delivery.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Make parked or waiting deliveries due again, with a fresh attempt count."""
    from okrbridge.cli.inbox import run_inbox_retry

    run_inbox_retry(config, ids or [], all_parked=all_parked)


@inbox_app.command("purge")
def inbox_purge(
    config: ConfigOption = None,
    status: Annotated[
        str, typer.Option(metavar="[done|parked]", help="Which processed deliveries to delete.")
    ] = "done",
    older_than_days: Annotated[
        float | None,
        typer.Option("--older-than-days", help="Only deliveries older than this.", min=0),
    ] = None,
) -> None:
    """Delete processed (or parked) deliveries; pending ones are never purged."""
    from okrbridge.cli.inbox import run_inbox_purge

    run_inbox_purge(config, status=status, older_than_days=older_than_days)


@webhooks_app.command("register")
def webhooks_register(
    instance: Annotated[str, typer.Argument(help="Connector instance, e.g. trello-main.")],
    callback_url: Annotated[
        str | None,
        typer.Option(
            "--callback-url",
            help="Public URL of POST /webhooks/<instance> (default: the instance's callback_url).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create the instance's webhooks in the tool (where its connector can), pointing at the
    daemon."""
    from okrbridge.cli.daemon import run_webhooks_register

    run_webhooks_register(config, instance, callback_url=callback_url)


@app.command("serve-dashboard")
def serve_dashboard(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Serve the read-only OKR dashboard alone (no scheduler, no webhooks).

    Open to anyone who can reach it unless OKRBRIDGE_DASHBOARD_TOKEN, or
    OKRBRIDGE_DASHBOARD_USER and OKRBRIDGE_DASHBOARD_PASSWORD, are set.
    """
    from okrbridge.cli.dashboard import run_serve_dashboard

    raise typer.Exit(run_serve_dashboard(config, host=host, port=port))


@app.command()
def report(
    config: ConfigOption = None,
    since: Annotated[
        str, typer.Option(help="Window start: a duration back from now (7d, 36h) or a date.")
    ] = "7d",
    format: Annotated[
        str, typer.Option("--format", metavar="[md|html]", help="Markdown or a standalone page.")
    ] = "md",
    out: Annotated[
        Path | None, typer.Option(help="Write to this file (default: stdout).", show_default=False)
    ] = None,
    stalled_days: Annotated[
        int, typer.Option(help="An open task not updated for this many days is stalled.", min=1)
    ] = 14,
    all_tasks: Annotated[
        bool,
        typer.Option("--all", help="List every problem task (default: the worst 20 per KR)."),
    ] = False,
) -> None:
    """Weekly update: status changes with reasons, key results at risk with their overdue or
    stalled tasks, and forecasts that miss their target."""
    from okrbridge.cli.report import run_report

    run_report(
        config, since=since, fmt=format, out=out, stalled_days=stalled_days, all_tasks=all_tasks
    )


def _whole_short_help(*apps: typer.Typer) -> None:
    """Command lists show each command's whole first paragraph, wrapped, instead of Click's
    45-character cut ("Write a commented starter config (the README's worked...")."""
    for typer_app in apps:
        for info in typer_app.registered_commands:
            doc = (info.callback.__doc__ or "") if info.callback else ""
            first = " ".join(doc.strip().split("\n\n")[0].split())
            if info.short_help is None and first:
                info.short_help = first


_whole_short_help(app, config_app, db_app, inbox_app, webhooks_app)


def main() -> None:
    """Console-script entry point: an unexpected error is one line unless debugging."""
    from okrbridge.cli.common import debug_enabled, report_crash

    try:
        app()
    except Exception as exc:
        if debug_enabled():
            raise
        report_crash(exc)
