"""`habitbot console | run | db upgrade | db rebuild-standings | keys new | keys rotate`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from habitbot.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="habitbot", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="where the embedded database lives")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("console", help="chat with the bot in this terminal (no token needed)")
    commands.add_parser("run", help="run every platform whose token is set (console if none)")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    db_commands.add_parser(
        "rebuild-standings", help="recompute every challenge standing from the check-ins"
    )
    revision = db_commands.add_parser("revision", help="autogenerate a migration (developers)")
    revision.add_argument("-m", "--message", required=True)
    keys = commands.add_parser("keys", help="the keys stored messages are encrypted with")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_commands.add_parser("new", help="print a new key (put it first in SECRET_KEYS)")
    rotate = key_commands.add_parser(
        "rotate", help="re-encrypt every stored message under the first key of SECRET_KEYS"
    )
    rotate.add_argument("--after", type=int, default=0, help="resume after this message id")
    rotate.add_argument("--batch", type=int, default=500, help="messages per transaction")
    args = parser.parse_args(argv)

    settings = Settings()
    if args.data_dir:
        settings.data_dir = args.data_dir
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Before anything imports alembic: it logs a line per plugin at import, seven at INFO.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "job added", "started": noise
    from habitbot import app

    match args.command:
        case "db":
            app.run_loop(app.db_command(settings, args.db_command, getattr(args, "message", "")))
        case "keys":
            app.run_loop(app.keys_command(settings, args))
        case "run":
            app.run_loop(app.run(settings))
        case _:
            app.run_loop(app.console(settings))


if __name__ == "__main__":
    main()
