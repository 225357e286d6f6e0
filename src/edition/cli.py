"""The ``edition`` command: build, validate, info (and check, watch).

A user error prints one line, ``file:line:col: message (what to do)``, and exits
non-zero; a traceback means a bug in the library.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from edition.errors import EditionError, EditionWarning, ValidationError

log = logging.getLogger("edition")


def _say_error(error: EditionError) -> None:
    """One line: ``file:line:col: message (hint)``, or ``edition: message`` when no file is involved."""
    click.echo(str(error) if error.where else f"edition: {error}", err=True)


def _fail(error: EditionError) -> NoReturn:
    _say_error(error)
    sys.exit(1)


@contextmanager
def _warnings_to_stderr(quiet: bool) -> Iterator[None]:
    """Library warnings (an unknown element kept as text) as one line each, not Python's format."""

    def show(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
        if not quiet:
            click.echo(f"warning: {message}", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", EditionWarning)
        original = warnings.showwarning
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = original


def _sources(files: Sequence[str]) -> list[Path]:
    if files:
        return [Path(f) for f in files]
    found = sorted(Path("sources").glob("*.xml"))
    if not found:
        raise EditionError("no sources given and none in sources/*.xml", hint="name the TEI files to build")
    return found


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.option("-v", "--verbose", count=True, help="Say more (repeat for debugging output).")
@click.version_option(package_name="edition")
@click.pass_context
def main(context: click.Context, quiet: bool, verbose: int) -> None:
    """Scholarly digital editions from TEI P5: one source, a web page, a PDF and an EPUB."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    context.obj = {"quiet": quiet, "verbose": verbose}


def _build_options(function: click.decorators.FC) -> click.decorators.FC:
    """The options ``build`` and ``watch`` share."""
    for option in reversed(
        (
            click.option(
                "-o",
                "--output",
                "output",
                type=click.Path(file_okay=False),
                default=None,
                help="Output folder (default: output/<stem>/; with several sources, <output>/<stem>/).",
            ),
            click.option(
                "-f",
                "--format",
                "formats",
                default="html,pdf,epub",
                show_default=True,
                help="Comma-separated formats: html, pdf, epub.",
            ),
            click.option(
                "--profile",
                type=click.Choice(["screen", "press"]),
                default="screen",
                show_default=True,
                help="PDF profile: screen (tagged, links) or press (bleed, crop marks, PDF/X).",
            ),
            click.option(
                "--trim",
                default="6x9in",
                show_default=True,
                help="PDF trim size: 6x9in, 5.5x8.5in, a5 or royal.",
            ),
            click.option(
                "--non-strict",
                is_flag=True,
                help="Load TEI outside the project's schema (unknown elements warn).",
            ),
        )
    ):
        function = option(function)
    return function


def _target(output: str | None, source: Path, many: bool) -> Path | None:
    if output is None:
        return None
    return Path(output) / source.stem if many else Path(output)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@_build_options
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help=(
        "Processes to use (default: the number of cores): for one source, the parts of a long PDF "
        "laid out at once; for several, the sources built at once."
    ),
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Lay out the whole PDF again, ignoring and not keeping laid-out parts (OUT/.edition-cache).",
)
@click.pass_context
def build(
    context: click.Context,
    files: tuple[str, ...],
    output: str | None,
    formats: str,
    profile: str,
    trim: str,
    non_strict: bool,
    jobs: int | None,
    no_cache: bool,
) -> None:
    """Build TEI FILES (default: every sources/*.xml) into output folders."""
    from edition.build import parse_formats
    from edition.corpus import Outcome, build_many
    from edition.progress import progress

    quiet = context.obj["quiet"]
    try:
        chosen = parse_formats(formats)
        sources = _sources(files)
    except EditionError as error:
        _fail(error)
    out_root = Path(output) if output and len(sources) > 1 else None
    failures = 0
    with _warnings_to_stderr(quiet), progress(len(sources), quiet=quiet) as advance:

        def done(outcome: Outcome) -> None:
            nonlocal failures
            advance(outcome.source.name, None)
            for message in outcome.warnings:
                if not quiet:
                    click.echo(f"warning: {message}", err=True)
            if outcome.error is not None:
                failures += 1
                click.echo(
                    str(outcome.error) if outcome.error.where else f"edition: {outcome.error}", err=True
                )
            elif not quiet:
                click.echo(f"built {outcome.source} → {outcome.out_dir}/ ({', '.join(chosen)})")

        options = {
            "formats": chosen,
            "profile": profile,
            "trim": trim,
            "strict": not non_strict,
            "cache": not no_cache,
        }
        if len(sources) == 1:
            from edition.corpus import build_one

            done(build_one(sources[0], _target(output, sources[0], False), jobs=jobs, **options))
        else:
            build_many(sources, out_root, jobs=jobs, on_done=done, **options)
    sys.exit(1 if failures else 0)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@_build_options
@click.pass_context
def watch(
    context: click.Context,
    files: tuple[str, ...],
    output: str | None,
    formats: str,
    profile: str,
    trim: str,
    non_strict: bool,
) -> None:
    """Rebuild FILES (default: sources/*.xml) whenever they change, in one warm process. Ctrl-C stops."""
    import time

    import watchfiles

    from edition.build import parse_formats
    from edition.corpus import build_one

    quiet = context.obj["quiet"]
    try:
        chosen = parse_formats(formats)
        sources = [s.resolve() for s in _sources(files)]
    except EditionError as error:
        _fail(error)
    options = {"formats": chosen, "profile": profile, "trim": trim, "strict": not non_strict}
    many = len(sources) > 1
    for module in ("edition.epub", "edition.pdf", "weasyprint"):  # warm: rebuilds pay for no imports
        importlib.import_module(module)

    def rebuild(source: Path, why: str) -> None:
        started = time.perf_counter()
        steps: list[str] = []
        outcome = build_one(source, _target(output, source, many), on_step=steps.append, **options)
        seconds = time.perf_counter() - started
        for message in outcome.warnings:
            click.echo(f"warning: {message}", err=True)
        if outcome.error is not None:
            _say_error(outcome.error)
        elif not quiet:
            made = ", ".join(chosen)
            click.echo(f"{why}: rebuilt {source.name} ({made}) in {seconds:.1f} s → {outcome.out_dir}/")
            for step in steps:
                if step.startswith("PDF "):  # what the layout cache saved, for a long book
                    click.echo(f"  {step}")

    def fingerprint(source: Path) -> bytes | None:
        try:
            return hashlib.sha256(source.read_bytes()).digest()
        except OSError:
            return None  # being replaced by an editor's save: look again on the next tick

    seen = {source: fingerprint(source) for source in sources}
    for source in sources:
        rebuild(source, "start")
    if not quiet:
        click.echo(f"watching {len(sources)} source(s); Ctrl-C to stop")
    folders = sorted({s.parent for s in sources})
    try:
        # file events wake us at once; the timeout makes a missed event (an editor's rename,
        # a save before the watcher started) cost at most half a second
        for _changes in watchfiles.watch(
            *folders, debounce=300, step=100, rust_timeout=500, yield_on_timeout=True
        ):
            for source in sources:
                now = fingerprint(source)
                if now is not None and now != seen[source]:
                    seen[source] = now
                    rebuild(source, "changed")
    except KeyboardInterrupt:
        pass


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--non-strict", is_flag=True, help="Check only the structure the library needs.")
@click.pass_context
def validate(context: click.Context, files: tuple[str, ...], non_strict: bool) -> None:
    """Check TEI FILES against the project's schema: file:line:col lines for each problem."""
    from edition.loader import load

    failed = False
    with _warnings_to_stderr(context.obj["quiet"]):
        for name in files:
            try:
                load(name, strict=not non_strict)
            except ValidationError as error:
                failed = True
                for problem in error.problems or (error,):
                    click.echo(str(problem), err=True)
            except EditionError as error:
                failed = True
                click.echo(str(error), err=True)
            else:
                if not context.obj["quiet"]:
                    click.echo(f"{name}: valid")
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("file", type=click.Path())
@click.option("--non-strict", is_flag=True, help="Load TEI outside the project's schema.")
@click.pass_context
def info(context: click.Context, file: str, non_strict: bool) -> None:
    """Summarise an edition: title, paragraphs, notes, interventions, entities."""
    from edition.loader import load

    try:
        with _warnings_to_stderr(context.obj["quiet"]):
            edition = load(file, strict=not non_strict)
    except EditionError as error:
        _fail(error)
    meta = edition.metadata
    kinds = Counter(i.kind.value for i in edition.interventions)
    entities = Counter(e.kind.value for e in edition.entities)
    lines = [
        f"title:          {meta.title}",
        f"authors:        {', '.join(meta.authors) or '—'}",
        f"editors:        {', '.join(meta.editors) or '—'}",
        f"language:       {meta.language}",
        f"date:           {meta.date or '—'}",
        f"identifier:     {meta.identifier}",
        f"paragraphs:     {sum(1 for _ in edition.paragraphs())}",
        f"notes:          {len(edition.notes)}",
        f"interventions:  {len(edition.interventions)}"
        + (f" ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds else ""),
        f"entities:       {len(edition.entities)}"
        + (f" ({', '.join(f'{k} {n}' for k, n in sorted(entities.items()))})" if entities else ""),
        f"mentions:       {sum(len(e.occurrences) for e in edition.entities)}",
    ]
    click.echo("\n".join(lines))


@main.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path())
@click.pass_context
def check(context: click.Context, folders: tuple[str, ...]) -> None:
    """Check that the web page, EPUB and PDF in built FOLDERS agree (exit 1 if they do not)."""
    from edition.check import check_folder

    failed = False
    for folder in folders:
        try:
            report = check_folder(folder)
        except EditionError as error:
            _fail(error)
        lines = str(report).splitlines()
        if context.obj["quiet"]:
            lines = [line for line in lines if line.startswith("FAIL")] + lines[-1:]
        click.echo("\n".join(lines))
        failed = failed or not report.ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
