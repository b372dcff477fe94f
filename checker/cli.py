"""``hotupdate-check``: the command line.

::

    hotupdate-check OLD NEW [NEWER ...] [--format FMT] [--output FILE] [--fail-on LEVEL]
                    [--host golem|wasmcloud|wasi] [--config FILE] [--history OPLOG|DIR ...]
    hotupdate-check --samples counter          # the bundled sample's revisions, in order
    hotupdate-check --list-rules | --explain RULE | --version

Exit status: 0 nothing at or above ``--fail-on``; 1 findings at or above it, or a recorded
history that diverges (unless ``--fail-on never``); 2 bad invocation or unreadable input (one line on stderr naming the file and why).

This module is imported by the console script, so it imports nothing at module level: click
and the checker are imported inside :func:`main`/:func:`command`, and ``--version`` alone never
imports them.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import click

__all__ = ["command", "main"]

PROG = "hotupdate-check"
HOST_NAMES = ("golem", "wasmcloud", "wasi")
EXIT_USAGE = 2
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

_COMMAND: Any = None


def _version_line() -> str:
    from . import version

    return f"{PROG} {version()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point; returns (or exits with) the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:  # the fast path: no click, no checker modules
        try:
            sys.stdout.write(_version_line() + "\n")
            sys.stdout.flush()
        except OSError as exc:
            return _stdout_failed(exc)
        return 0
    from . import tool

    tool.prefetch(args)  # wasm-tools runs while click and the checker are imported
    try:
        cmd = command()
        cmd.main(args=args, prog_name=PROG, standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except OSError as exc:  # click's own --help/--version output on a full device or a closed pipe
        if exc.errno not in _OUTPUT_ERRNOS:
            raise
        return _stdout_failed(exc)
    finally:
        tool.discard_prefetched()
    return 0


def command() -> click.Command:
    """The click command (built on first use; tests run it through ``CliRunner``)."""
    global _COMMAND
    if _COMMAND is None:
        _COMMAND = _build_command()
    return _COMMAND  # type: ignore[no-any-return]


def _build_command() -> click.Command:
    import click

    from .config import FAIL_ON_CHOICES
    from .report import Format

    formats = tuple(f.value for f in Format)

    def show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value and not ctx.resilient_parsing:
            click.echo(_version_line())
            ctx.exit(0)

    class OneLineErrors(click.Command):
        """Click's usage errors (unknown option, bad --format value, ...) as one line,
        ``hotupdate-check: error: ...``, exit status 2, like every other bad invocation."""

        def make_context(
            self, info_name: str | None, args: list[str], parent: click.Context | None = None,
            **extra: Any,
        ) -> click.Context:
            try:
                return super().make_context(info_name, args, parent, **extra)
            except click.UsageError as exc:
                message = " ".join(exc.format_message().split())
                click.echo(f"{PROG}: error: {message}", err=True)
                raise click.exceptions.Exit(EXIT_USAGE) from None

    @click.command(
        name=PROG,
        cls=OneLineErrors,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
        epilog="Exit status: 0 nothing at or above --fail-on, 1 findings at or above it, "
        "2 bad invocation or unreadable input.",
    )
    @click.argument("components", nargs=-1, metavar="OLD NEW [NEWER...]")
    @click.option("--format", "fmt", type=click.Choice(formats), default="text",
                  show_default=True, help="Output format.")
    @click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
    @click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default=None,
                  help="Lowest severity that makes the exit status 1 [default: error, or the "
                       "config's].")
    @click.option("--host", type=click.Choice(HOST_NAMES), default=None,
                  help="Host profile for import checks [default: golem, or the config's].")
    @click.option("--config", "config_path", metavar="FILE",
                  help="TOML file with [tool.hotupdate] (default: the nearest pyproject.toml).")
    @click.option("--history", multiple=True, metavar="OPLOG|DIR",
                  help="Recorded oplog (or a directory of *.oplog.jsonl) of the compared "
                       "component, replayed on the new revision (repeatable): the automatic "
                       "verdict becomes replay-verified or diverges; a divergence fails the "
                       "run unless --fail-on never.")
    @click.option("--world", metavar="NAME",
                  help="World to check in WIT inputs whose package has several.")
    @click.option("--chain", is_flag=True,
                  help="Check each revision against the next one instead of every older "
                       "revision against the newest.")
    @click.option("--samples", metavar="SAMPLE",
                  help="Check the revisions of a bundled sample (counter, dice, cart, ...) in "
                       "order (implies --chain).")
    @click.option("--list-rules", is_flag=True, help="List the rule catalogue and exit.")
    @click.option("--explain", metavar="RULE", help="Explain one rule, with an example, and exit.")
    @click.option("--color/--no-color", default=None,
                  help="Colour the text format [default: only on a terminal].")
    @click.option("--version", is_flag=True, expose_value=False, is_eager=True,
                  callback=show_version, help="Show the version and exit.")
    @click.pass_context
    def hotupdate_check(ctx: click.Context, /, **options: Any) -> None:
        """Predict whether workers on OLD revisions survive a hot update to NEW.

        Compares the WIT of each old revision with the newest one (components, WIT
        directories or .wit files) and prints both verdicts: automatic (replay) update and
        manual (snapshot) update, with every finding's rule id, severity and WIT path.
        """
        from .errors import CheckError

        try:
            code = _run(**options)
        except CheckError as exc:
            message = " ".join(str(exc).split())
            click.echo(f"{PROG}: error: {message}", err=True)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:  # Ctrl-C, e.g. during --history: one line, the shell's 130
            click.echo(f"{PROG}: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        ctx.exit(code)

    return hotupdate_check


def _run(
    *,
    components: tuple[str, ...],
    fmt: str,
    output: str | None,
    fail_on: str | None,
    host: str | None,
    config_path: str | None,
    history: tuple[str, ...],
    world: str | None,
    chain: bool,
    samples: str | None,
    list_rules: bool,
    explain: str | None,
    color: bool | None,
) -> int:
    from .errors import UsageError

    if list_rules or explain:
        from .report import rule_text, rules_table
        from .rules import RULES, get_rule

        if explain:
            try:
                get_rule(explain)
            except KeyError:
                raise UsageError(
                    f"unknown rule {explain!r} (see {PROG} --list-rules)"
                ) from None
            text = rule_text(explain)
        elif fmt == "json":
            import json

            text = json.dumps([r.as_dict() for r in RULES], indent=2) + "\n"
        else:
            text = rules_table()
        _emit(text, output)
        return 0

    from .api import Checker
    from .config import load_config
    from .report import render

    paths = list(components)
    if samples:
        if paths:
            raise UsageError("give either component files or --samples, not both")
        paths = _sample_paths(samples)
        chain = True
    if len(paths) < 2:
        raise UsageError(
            f"give at least two revisions (old and new) to compare, or --samples SAMPLE; "
            f"see {PROG} --help"
        )
    config = load_config(config_path)
    checker = Checker(
        host=host, fail_on=fail_on, config=config, world=world, chain=chain, histories=history
    )
    report = checker.check(paths)
    if color is None:
        color = output is None and fmt == "text" and _stdout_is_terminal()
    color = bool(color) and fmt == "text"
    _emit(text=render(report, fmt, color=color), output=output, color=color)
    return report.exit_code


def _stdout_is_terminal() -> bool:
    import os

    if os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _emit(text: str, output: str | None, color: bool = False) -> None:
    import click

    from .errors import CheckError

    if output is None:
        try:
            click.echo(text, nl=False, color=color)  # click strips ANSI codes unless told
        except OSError as exc:  # a full device, a closed pipe
            _discard_stdout()
            raise CheckError(
                f"cannot write the report to standard output: {exc.strerror or exc}") from None
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise CheckError(f"{output}: cannot write the report: {exc.strerror or exc}") from None


_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EDQUOT, errno.EFBIG})


def _stdout_failed(exc: OSError) -> int:
    """One line on stderr for output that could not be written; exit status 2."""
    _discard_stdout()
    try:
        sys.stderr.write(f"{PROG}: error: cannot write to standard output: "
                         f"{exc.strerror or exc}\n")
    except OSError:
        pass
    return EXIT_USAGE


def _discard_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered for the failed stream would
    fail again when the interpreter flushes it at exit, with a second message."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):  # no real file behind stdout (CliRunner)
        pass


def _sample_paths(name: str) -> list[str]:
    """Build (or reuse) every revision of a bundled sample; their paths, oldest first."""
    from .errors import UsageError

    try:
        from sample_components.build import build, samples
    except ImportError:
        raise UsageError("--samples needs the sample_components package (a source checkout)") from None
    revisions = [rev for sample, rev in samples() if sample == name]
    if not revisions:
        known = ", ".join(sorted({s for s, _ in samples()})) or "none"
        raise UsageError(f"unknown sample {name!r} (samples: {known})")
    if len(revisions) < 2:
        raise UsageError(f"sample {name!r} has a single revision: nothing to compare")
    try:
        built = [str(build(name, rev)) for rev in revisions]
    except Exception as exc:  # noqa: BLE001 - SampleBuildError and OSError: one line, exit 2
        raise UsageError(" ".join(str(exc).split())) from None
    return [_short_path(p) for p in built]


def _short_path(path: str) -> str:
    """``path`` relative to the current directory when it lies below it (shorter reports)."""
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return path
    return path if rel.startswith("..") else rel


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
