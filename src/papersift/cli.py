"""The ``papersift`` command: each subcommand parses its options, calls the library, renders."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from papersift import __version__, sources
from papersift.catalog import CatalogError
from papersift.encoders import EncoderError
from papersift.library import DEFAULT_PATH, Library
from papersift.papers import Paper
from papersift.ranking import Filters, SearchResult
from papersift.settings import Settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class UserError(click.ClickException):
    """A mistake in the input: one line on stderr, exit status 1, no traceback."""

    def show(self, file: Any = None) -> None:
        err.print(f"[red]error:[/red] {self.format_message()}", markup=True, highlight=False)


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Any]:
    """A ``progress(task, done, total)`` callback drawing rich bars on a terminal."""
    if not enabled:
        yield lambda task, done, total: None
        return
    columns = (
        TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bars:
        tasks: dict[str, TaskID] = {}

        def update(task: str, done: int, total: int | None) -> None:
            if task not in tasks:
                tasks[task] = bars.add_task(task, total=total, rate="")
            bars.update(tasks[task], completed=done, total=total)

        yield update


def _library(ctx: click.Context, *, create: bool = False, **options: Any) -> Library:
    """Open the library; only ``ingest`` may create one where there is none."""
    path = Path(ctx.obj["library"])
    if not create and not (path / "catalog.sqlite").exists():
        raise UserError(f"no library at {path}: run `papersift ingest FILE` first, or point "
                        "--library / PAPERSIFT_LIBRARY at one")
    try:
        return Library(path, **options)
    except CatalogError as error:
        raise UserError(str(error)) from None


def _filters(since: datetime | None, until: datetime | None, category: tuple[str, ...],
             author: tuple[str, ...]) -> Filters:
    """Filters from the shared options (click parses dates as datetimes)."""
    return Filters(
        since=since.date() if since else None, until=until.date() if until else None,
        categories=tuple(category), authors=tuple(author),
    )


def _paper_json(paper: Paper) -> dict[str, Any]:
    data = asdict(paper)
    data["published"] = paper.published.isoformat() if paper.published else None
    data["n_authors"] = paper.n_authors
    return data


def _authors_line(paper: Paper, shown: int = 3) -> str:
    names = list(paper.authors[:shown])
    if paper.n_authors > len(names):
        names.append(f"… {paper.n_authors} authors" if names else f"{paper.n_authors} authors")
    return ", ".join(names)


def _render(rank: int, result: SearchResult, width: int = 300) -> None:
    paper = result.paper
    out.print(f"[bold]{rank:>2}. {_escape(paper.title)}[/bold]  [dim]({result.score:.3f})[/dim]")
    abstract = paper.abstract if len(paper.abstract) <= width else paper.abstract[:width] + "…"
    out.print(f"    {_escape(abstract)}")
    facts = [
        _authors_line(paper),
        paper.published.isoformat() if paper.published else "",
        f"▲ {paper.upvotes}" if paper.upvotes else "",
        paper.organization or "",
        " ".join(paper.categories[:3]),
    ]
    out.print("    [dim]" + _escape(" · ".join(f for f in facts if f)) + "[/dim]")
    links = [paper.links.abs or paper.id, *paper.links.code[:1]]
    why = f"  why: {'; '.join(result.why)}" if result.why else ""
    shown = _escape(" ".join(link for link in links if link))
    out.print(f"    [cyan]{shown}[/cyan][dim]{_escape(why)}[/dim]")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--library", "-L", envvar="PAPERSIFT_LIBRARY", default=DEFAULT_PATH, show_default=True,
    type=click.Path(file_okay=False), help="Library directory (env: PAPERSIFT_LIBRARY).",
)
@click.version_option(__version__, prog_name="papersift")
@click.pass_context
def main(ctx: click.Context, library: str) -> None:
    """Discover research papers: ingest, search, serve."""
    ctx.ensure_object(dict)
    ctx.obj["library"] = library


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(sources.FORMATS),
              help="Skip detection and read every input in this format.")
@click.option("--field", "fields", multiple=True, metavar="SOURCE=PAPER",
              help="Map an unusual JSONL/CSV field onto a paper field, e.g. summary=abstract.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a tty).")
@click.option("--embed/--no-embed", default=True, show_default=True,
              help="Embed the new papers for semantic search (resumable; `papersift embed`).")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], fmt: str | None,
           fields: tuple[str, ...], progress: bool | None, embed: bool) -> None:
    """Add papers from files, folders or - (stdin); the format is detected from content.

    Reading the same input again changes nothing; a changed record updates its paper.
    Records that cannot be read are listed as FILE:LINE: reason and make the exit status 1.

    Example: papersift ingest arxiv-75k.jsonl.gz daily/ --field summary=abstract
    """
    mapping = {}
    for item in fields:
        source, sep, target = item.partition("=")
        if not sep or not source or not target:
            raise UserError(f"--field {item!r}: write it as SOURCE=PAPER, e.g. summary=abstract")
        mapping[source] = target
    lib = _library(ctx, create=True)
    show = progress if progress is not None else err.is_terminal
    try:
        with progress_bars(show) as bar:
            report = lib.ingest(list(paths), fmt=fmt, fields=mapping or None, progress=bar)
    except sources.SourceError as error:
        raise UserError(f"{error} (papers read before this were stored)") from None
    for rejected in report.rejected:
        err.print(_escape(str(rejected)), markup=False)
    err.print(report.summary() + f" · {len(lib)} papers in {lib.path}")
    if embed and len(lib):
        _embed(lib, show)
    if not report.ok:
        ctx.exit(1)


_filter_options = [
    click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after."),
    click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Published on or before."),
    click.option("--category", "-c", multiple=True,
                 help="arXiv category, e.g. cs.CL (repeat: any)."),
    click.option("--author", "-a", multiple=True, help="Author name or part of it (repeat: all)."),
]


def filter_options(command: Any) -> Any:
    for option in reversed(_filter_options):
        command = option(command)
    return command


@main.command()
@click.argument("query")
@filter_options
@click.option("--mode", "-m", type=click.Choice(["auto", "lexical", "semantic", "hybrid"]),
              default="auto", show_default=True,
              help="auto: hybrid once every paper is embedded, lexical before.")
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, type=click.IntRange(0), help="Skip this many results.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.pass_context
def search(ctx: click.Context, query: str, since: Any, until: Any, category: tuple[str, ...],
           author: tuple[str, ...], mode: str, limit: int, offset: int, as_json: bool) -> None:
    """Search titles and abstracts: BM25, embeddings, or both fused; any text is valid.

    "quoted words" must appear as a phrase; -word excludes a word.

    Example: papersift search "matryoshka representations" --since 2026-01-01 -c cs.CL
    """
    filters = _filters(since, until, category, author)
    lib = _library(ctx)
    if mode in ("semantic", "hybrid") and not lib.has_vectors():
        raise UserError(f"--mode {mode} needs vectors: run `papersift embed` first")
    results = lib.search(query, mode=mode, filters=filters,  # type: ignore[arg-type]
                         limit=limit, offset=offset)
    if as_json:
        payload = [
            {"rank": offset + i + 1, "score": r.score, "why": list(r.why),
             "paper": _paper_json(r.paper)}
            for i, r in enumerate(results)
        ]
        click.echo(json.dumps({"query": query, "results": payload}, ensure_ascii=False, indent=1))
        return
    if not results:
        err.print("no papers match; try fewer words or wider filters")
    for i, result in enumerate(results, start=offset + 1):
        _render(i, result)


@main.command()
@click.argument("paper_id")
@click.option("--json", "as_json", is_flag=True, help="The paper as JSON.")
@click.pass_context
def show(ctx: click.Context, paper_id: str, as_json: bool) -> None:
    """Show one paper in full.

    Example: papersift show 2205.13147
    """
    paper = _library(ctx).get(paper_id)
    if paper is None:
        raise UserError(f"no paper with id {paper_id!r}; find ids with `papersift search`")
    if as_json:
        click.echo(json.dumps(_paper_json(paper), ensure_ascii=False, indent=1))
        return
    out.print(f"[bold]{_escape(paper.title)}[/bold]")
    out.print(f"[dim]{_escape(paper.id)} · {paper.published or 'no date'} · "
              f"{_escape(' '.join(paper.categories))}[/dim]")
    out.print(_escape(", ".join(paper.authors) or f"{paper.n_authors} authors"))
    out.print()
    out.print(_escape(paper.abstract))
    for label, url in (("abs", paper.links.abs), ("pdf", paper.links.pdf)):
        if url:
            out.print(f"{label}: {_escape(url)}")
    for url in paper.links.code:
        out.print(f"code: {_escape(url)}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of papers, authors, dates and categories in the library.

    Example: papersift stats --json
    """
    info = _library(ctx).stats()
    if as_json:
        click.echo(json.dumps(info, indent=1))
        return
    for key, value in info.items():
        out.print(f"{key:>18}: {_escape(str(value))}")


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Verify that the catalog, the lexical index and the vectors agree.

    Example: papersift check
    """
    problems = _library(ctx).check()
    for problem in problems:
        err.print(_escape(problem))
    if problems:
        ctx.exit(1)
    err.print("catalog, lexical index and vectors agree")


@main.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the lexical index from the catalog.

    Example: papersift reindex
    """
    written = _library(ctx).reindex()
    err.print(f"lexical index rebuilt: {written} papers")


def _embed(lib: Library, show: bool) -> None:
    try:
        with progress_bars(show) as bar:
            done = lib.embed(progress=bar)
    except EncoderError as error:
        raise UserError(str(error)) from None
    except KeyboardInterrupt:
        err.print("embedding interrupted; run `papersift embed` to go on where it stopped")
        raise SystemExit(130) from None
    err.print(f"embedded {done} papers with {lib.encoder_spec} "
              f"({lib.semantic.count} vectors stored)")


@main.command()
@click.option("--encoder", "-e", metavar="NAME_OR_PATH",
              help="minilm (default, bundled), minilm-torch, or a sentence-transformers "
                   "model name in the local cache or a local model folder.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a tty).")
@click.pass_context
def embed(ctx: click.Context, encoder: str | None, progress: bool | None) -> None:
    """Embed every paper that has no current vector (resumable; interrupt at any time).

    Naming another encoder embeds the library again with it and makes it the default.

    Example: papersift embed --encoder ./models/bge-small-en-v1.5
    """
    lib = _library(ctx, encoder=encoder)
    _embed(lib, progress if progress is not None else err.is_terminal)


@main.command()
@click.option("--recall", type=click.FloatRange(0.5, 1.0), default=None,
              help="Recall@10 against exact search to tune for (default 0.95).")
@click.option("--adaptor", is_flag=True,
              help="Train a Matryoshka adaptor on the vectors first (minutes; needs torch) "
                   "and score candidates on its shorter codes.")
@click.pass_context
def index(ctx: click.Context, recall: float | None, adaptor: bool) -> None:
    """Rebuild the vector index, tuned to a recall target.

    Example: papersift index --recall 0.98 --adaptor
    """
    lib = _library(ctx)
    if not lib.has_vectors():
        raise UserError("no vectors yet: run `papersift embed` first")
    built = lib.build_index(recall=recall, adaptor=adaptor)
    if built is None:
        err.print(f"exact search: {lib.semantic.count} vectors, under the "
                  f"{lib.settings.exact_below} from which the adaptive index is used")
    else:
        trained = getattr(built, "adaptor", None)
        codes = (f", candidates on {getattr(built, 'd_s', '?')}-dim adaptor codes "
                 f"({trained.info.get('method')})" if trained is not None else "")
        err.print(f"adaptive index over {built.count} vectors, "
                  f"{getattr(built, 'params', '')}{codes}")


@main.command()
@click.argument("paper_id")
@filter_options
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def similar(ctx: click.Context, paper_id: str, since: Any, until: Any,
            category: tuple[str, ...], author: tuple[str, ...], limit: int,
            as_json: bool) -> None:
    """Papers nearest in meaning to a paper.

    Example: papersift similar 2205.13147 --since 2025-01-01
    """
    lib = _library(ctx)
    if lib.get(paper_id) is None:
        raise UserError(f"no paper with id {paper_id!r}; find ids with `papersift search`")
    filters = _filters(since, until, category, author)
    results = lib.similar(paper_id, limit=limit, filters=filters)
    if as_json:
        payload = [{"rank": i + 1, "score": r.score, "paper": _paper_json(r.paper)}
                   for i, r in enumerate(results)]
        click.echo(json.dumps({"paper": paper_id, "similar": payload}, ensure_ascii=False,
                              indent=1))
        return
    for i, result in enumerate(results, start=1):
        _render(i, result)


@main.command(name="eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--mode", "-m", "modes", multiple=True,
              type=click.Choice(["lexical", "semantic", "hybrid"]),
              help="Modes to score (default: all three).")
@click.option("--split", default="test", show_default=True, help="qrels/<split>.tsv to use.")
@click.option("--encoder", "-e", metavar="NAME_OR_PATH", help="Encoder for the dense modes.")
@click.option("--index", "index_kind", type=click.Choice(["auto", "exact", "adaptive"]),
              default="auto", show_default=True,
              help="Vector index: auto picks by size; the others force one (to compare).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def eval_command(ctx: click.Context, folder: str, modes: tuple[str, ...], split: str,
                 encoder: str | None, index_kind: str, as_json: bool) -> None:
    """Score search on a BEIR-format folder: nDCG@10, Recall@100, MRR@10 per mode.

    The corpus goes into a temporary library unless --library is given explicitly.

    Example: papersift eval ../shared/data/scifact
    """
    from papersift.evaluate import EvalError, run_eval

    library = ctx.obj["library"] if _library_given(ctx) else None
    try:
        with progress_bars(err.is_terminal) as bar:
            scores = run_eval(folder, library=library, modes=modes or
                              ("lexical", "semantic", "hybrid"), split=split,
                              encoder=encoder, settings=_index_settings(index_kind),
                              progress=bar)
    except (EvalError, EncoderError) as error:
        raise UserError(str(error)) from None
    if as_json:
        click.echo(json.dumps([{k: v for k, v in vars(s).items() if k != "per_query"}
                               for s in scores], indent=1))
        return
    from rich.table import Table

    table = Table(title=f"{folder} ({scores[0].queries if scores else 0} queries)")
    for column in ("mode", "nDCG@10", "Recall@100", "MRR@10", "ms/query"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for s in scores:
        table.add_row(s.mode, f"{s.ndcg_10:.4f}", f"{s.recall_100:.4f}", f"{s.mrr_10:.4f}",
                      f"{s.ms_per_query:.1f}")
    out.print(table)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; other than loopback needs PAPERSIFT_SECRET.")
@click.option("--port", "-p", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--embed/--no-embed", default=True, show_default=True,
              help="Embed papers that have no vector in the background while serving.")
@click.option("--proxy-headers", is_flag=True, help="Trust X-Forwarded-For (behind a proxy).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, embed: bool, proxy_headers: bool) -> None:
    """Serve the web UI and the JSON API (OpenAPI at /docs).

    Search answers at once (lexical); semantic search switches on when the background
    embedding finishes (the search page shows its progress).

    Example: papersift serve --port 8000
    """
    try:
        from papersift.web.serve import ServeError
        from papersift.web.serve import serve as run_server
    except ImportError as error:
        raise UserError(f"{error}: pip install 'papersift[server]'") from None
    err.print(f"papersift: serving {ctx.obj['library']} on http://{host}:{port}/")
    try:
        run_server(ctx.obj["library"], host=host, port=port, embed=embed,
                   proxy_headers=proxy_headers)
    except ServeError as error:
        raise UserError(str(error)) from None


def _index_settings(kind: str) -> Settings | None:
    if kind == "exact":
        return Settings(exact_below=2**62)
    if kind == "adaptive":
        return Settings(exact_below=0)
    return None


def _library_given(ctx: click.Context) -> bool:
    root = ctx.find_root()
    source = root.get_parameter_source("library")
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
