"""The ``naiad`` command: list, show, export, sync and trash runs of a store.

Every command takes ``--store`` and ``--project`` (before or after the command name), which
default like :class:`naiad.Run`'s (``NAIAD_STORE`` / ``NAIAD_PROJECT``, ``naiad.toml`` or
``[tool.naiad]``, then ``./.naiad`` and ``default``). Errors print one line,
``naiad: error: ...``, on stderr and exit non-zero (2 for usage errors, 1 otherwise).

Example:
    $ naiad ls --filter 'config/lr > 0.001' --columns config/lr,training/val/loss
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .._settings import Settings, resolve
from ..errors import FilterSyntaxError, NaiadError


class CommandError(Exception):
    """A failure to report as one line (the message says what and how to fix it)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"naiad: error: {message} (see '{self.prog} --help')\n")


def settings(args: argparse.Namespace) -> Settings:
    """Store and project from the command line, the environment and the config file."""
    return resolve(
        {
            "store": getattr(args, "store", None),
            "blobs": getattr(args, "blobs", None),
            "project": getattr(args, "project", None),
        }
    )


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from . import _admin, _import, _runs, _server

    parser = _Parser(
        prog="naiad",
        description="naiad: a local-first experiment tracker. "
        "Read, export, import, sync and tidy the runs of a store.",
    )
    parser.add_argument("--version", action="version", version=f"naiad {__version__}")
    _store_options(parser, None)
    common = argparse.ArgumentParser(add_help=False)
    _store_options(common, argparse.SUPPRESS)  # a value given before the command survives
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    _runs.register(commands, common)
    _admin.register(commands, common)
    _import.register(commands, common)
    _server.register(commands, common)
    return parser


def _store_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--store",
        default=default,
        metavar="PATH",
        help="store directory (default: NAIAD_STORE, naiad.toml, or ./.naiad)",
    )
    parser.add_argument(
        "--blobs",
        default=default,
        metavar="LOCATION",
        help="where file blobs live: a directory or s3://BUCKET/PREFIX (default: NAIAD_BLOBS, "
        "naiad.toml, or what the store recorded)",
    )
    parser.add_argument(
        "--project",
        default=default,
        metavar="NAME",
        help="project (default: NAIAD_PROJECT, naiad.toml, or 'default')",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``naiad`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
        return int(result or 0)
    except FilterSyntaxError as e:
        head = str(e).splitlines()[0].rstrip(":")
        return _fail(f"invalid filter: {head} in {e.text!r}")
    except (CommandError, NaiadError, OSError, ValueError, LookupError, TypeError) as e:
        if os.environ.get("NAIAD_DEBUG"):  # show the traceback when asked
            raise
        if isinstance(e, BrokenPipeError):  # `naiad ls | head`: the reader left
            _silence_stdout()
            return 0
        return _fail(str(e) or type(e).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, status: int = 1) -> int:
    sys.stderr.write(f"naiad: error: {' '.join(message.split())}\n")
    return status


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
