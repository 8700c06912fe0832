"""The ``papersift`` command: each subcommand parses its options, calls the library, renders."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from html import escape as html_escape
from typing import Any

import click
from rich.console import Console

from papersift import __version__, sources
from papersift.encoders import EncoderError
from papersift.errors import LibraryError, LockBusy
from papersift.library import (
    DEFAULT_PATH,
    Library,
    LibraryStats,
    RayOptions,
    describe_vector_index,
)
from papersift.papers import Paper
from papersift.people import PersonError, normalize_email
from papersift.progress_bars import Bars
from papersift.query import Filters, QueryError
from papersift.ranking import SearchResult
from papersift.search_results import SearchResults
from papersift.settings import Settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class UserError(click.ClickException):
    """A mistake in the input: one line on stderr, exit status 1, no traceback."""

    def show(self, file: Any = None) -> None:
        err.print(f"[red]error:[/red] {_escape(self.format_message())}", markup=True,
                  highlight=False)


@contextmanager
def progress_bars(enabled: bool, unit: str = "items") -> Iterator[Any]:
    """A ``progress(task, done, total)`` callback drawing one rich bar per task on a terminal
    (see :mod:`papersift.progress_bars`); ``unit`` names what a task not known there counts."""
    if not enabled:
        yield lambda task, done, total: None
        return
    with Bars(err, unit=unit) as bars:
        yield bars


def _library(ctx: click.Context, *, create: bool = False, **options: Any) -> Library:
    """Open the library; only ``ingest`` may create one where there is none."""
    path = ctx.obj["library"]
    if not create and not Library.exists(path):
        raise UserError(f"no library at {path}: run `papersift ingest FILE` first, or point "
                        "--library / PAPERSIFT_LIBRARY at one")
    try:
        return Library(path, **options)
    except LibraryError as error:
        raise UserError(str(error)) from None


def _filters(since: datetime | None, until: datetime | None, category: tuple[str, ...],
             author: tuple[str, ...]) -> Filters:
    """Filters from the shared options (click parses dates as datetimes)."""
    try:
        return Filters.parse(since=since.date() if since else None,
                             until=until.date() if until else None,
                             category=category, author=author)
    except QueryError as error:
        raise UserError(f"--{error.field}: {str(error).split(': ', 1)[1]}") from None


def _waiting(holder: str) -> None:
    err.print(f"another ingest is writing to this library ({_escape(holder)}); waiting for it")


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
        f"▲ {paper.total_upvotes}" if paper.total_upvotes else "",
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
    type=click.Path(file_okay=False),
    help="Library directory, or a postgresql://user@host:port/dbname URL "
         "(env: PAPERSIFT_LIBRARY).",
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
    with progress_bars(show) as bar:
        report = lib.ingest(list(paths), fmt=fmt, fields=mapping or None, progress=bar,
                            wait=_waiting)
    for rejected in report.rejected:
        err.print(_escape(str(rejected)), markup=False)
    for error in report.errors:
        err.print(f"[red]error:[/red] {_escape(str(error))}", markup=True)
    if report.read or report.rejected or not report.errors:
        err.print(report.summary() + f" · {len(lib):,} papers in {lib.location}")
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
              help="auto: hybrid once any paper has a vector (the others ranked by "
                   "their words), lexical before.")
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
        click.echo(json.dumps({"query": query, **_results_json(results, offset)},
                              ensure_ascii=False, indent=1))
        return
    if results.notice:
        err.print(f"note: {_escape(results.notice)}")
    if not results:
        err.print("no papers match; try fewer words or wider filters")
    for i, result in enumerate(results, start=offset + 1):
        _render(i, result)


def _results_json(results: SearchResults, offset: int = 0) -> dict[str, Any]:
    return {
        "mode": results.mode, "requested": results.requested,
        "coverage": round(results.coverage, 4), "notice": results.notice,
        "results": [{"rank": offset + i + 1, "score": r.score, "why": list(r.why),
                     "paper": _paper_json(r.paper)} for i, r in enumerate(results)],
    }


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
    facts = [paper.id, str(paper.published or "no date"), " ".join(paper.categories),
             f"▲ {paper.total_upvotes}" if paper.total_upvotes else "",
             paper.organization or ""]
    out.print(f"[dim]{_escape(' · '.join(f for f in facts if f))}[/dim]")
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
    from papersift.harvest import source_statuses

    lib = _library(ctx)
    stats, status, sources = lib.stats(), lib.status(), source_statuses(lib)
    vector_index = lib.vector_index()
    if as_json:
        data = _stats_json(stats, status.coverage) | {
            "vector_index": vector_index, "harvests": [s.to_dict() for s in sources]}
        click.echo(json.dumps(data, indent=1, default=str))
        return
    store = stats.store
    out.print(f"{store.papers:,} papers in {_escape(stats.location)}")
    if store.first_date:
        out.print(f"  listed {store.first_date} .. {store.last_date} ({store.days:,} days), "
                  f"{store.authors:,} authors, {store.votes:,} upvotes cast here")
    out.print(f"  lexical index: {stats.lexical_documents:,} papers"
              + ("" if status.lexical_ready else " (behind the catalog: run `papersift "
                 "ingest` again or `papersift reindex`)"))
    out.print(f"  vectors ({_escape(stats.encoder)}): {stats.vectors:,} "
              f"({100 * status.coverage:.0f}% of the papers)")
    if vector_index:
        out.print(f"  vector index: {_escape(describe_vector_index(vector_index))}")
    if store.top_categories:
        top = ", ".join(f"{c} {n:,}" for c, n in list(store.top_categories.items())[:6])
        out.print(f"  top categories: {_escape(top)}")
    for job in stats.jobs:
        out.print(f"  job {_escape(job.describe())}")
    for source in sources:
        out.print(f"  harvest {_escape(source.describe())}")


def _stats_json(stats: LibraryStats, coverage: float) -> dict[str, Any]:
    data = asdict(stats)
    data["coverage"] = round(coverage, 4)
    data["jobs"] = [{**asdict(j), "stalled": j.stalled(), "summary": j.describe()}
                    for j in stats.jobs]
    return data


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


def _embed(lib: Library, show: bool, wait: bool = True, ray: RayOptions | None = None) -> None:
    try:
        try:
            with progress_bars(show) as bar:
                done = lib.embed(progress=bar, wait=False, ray=ray)
        except LockBusy as busy:
            if not wait:
                raise UserError(f"another process is embedding this library ({busy.holder}); "
                                "its progress shows in `papersift stats`") from None
            err.print(f"another process is embedding this library ({_escape(busy.holder or '')}"
                      "); waiting for it to finish, then embedding what is left")
            with progress_bars(show) as bar:
                done = lib.embed(progress=bar, wait=True, ray=ray)
    except (EncoderError, LibraryError, ImportError) as error:  # ImportError: a missing extra
        raise UserError(str(error)) from None
    except KeyboardInterrupt:
        err.print("embedding interrupted; run `papersift embed` to go on where it stopped")
        raise SystemExit(130) from None
    err.print(f"embedded {done:,} papers with {lib.encoder_spec} "
              f"({lib.dense.count:,} vectors stored)")


@main.command()
@click.option("--encoder", "-e", metavar="NAME_OR_PATH",
              help="minilm (default, bundled), minilm-torch, or a sentence-transformers "
                   "model name in the local cache or a local model folder.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a tty).")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="When another process is embedding: wait for it, or stop at once.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="auto", default=None,
              metavar="[ADDRESS|auto|local]",
              help="Encode on a Ray cluster's workers (pip install \"papersift[ray]\"): auto "
                   "(alone: --ray) joins this machine's cluster, local starts one here for "
                   "this run, or a cluster's address. Same vectors, same resuming.")
@click.option("--ray-workers", type=click.IntRange(1), default=None,
              help="Encoder workers on the Ray cluster (default: one per CPU).")
@click.pass_context
def embed(ctx: click.Context, encoder: str | None, progress: bool | None, wait: bool,
          ray_address: str | None, ray_workers: int | None) -> None:
    """Embed every paper that has no current vector (resumable; interrupt at any time).

    Naming another encoder embeds the library again with it and makes it the default.

    Examples: papersift embed --encoder ./models/bge-small-en-v1.5;
    papersift embed --ray ray-head:6379
    """
    if ray_workers is not None and not ray_address:
        raise UserError("--ray-workers needs --ray")
    ray = RayOptions(ray_address, workers=ray_workers) if ray_address else None
    lib = _library(ctx, encoder=encoder)
    _embed(lib, progress if progress is not None else err.is_terminal, wait, ray)


@main.command()
@click.option("--recall", type=click.FloatRange(0.5, 1.0), default=None,
              help="Recall@10 against exact search to tune for (default 0.95).")
@click.option("--adaptor", is_flag=True,
              help="Train a Matryoshka adaptor on the vectors first (minutes; needs torch) "
                   "and score candidates on its shorter codes.")
@click.option("--memory", type=click.FloatRange(min=1), default=None, metavar="BYTES",
              help="RAM per vector the index may hold (codes, ids, lists; the full vectors "
                   "stay on disk): 4-bit codes where 8-bit ones do not fit.")
@click.pass_context
def index(ctx: click.Context, recall: float | None, adaptor: bool,
          memory: float | None) -> None:
    """Rebuild the vector index, tuned to a recall target.

    Example: papersift index --recall 0.98 --adaptor --memory 150
    """
    lib = _library(ctx)
    if not lib.has_vectors():
        raise UserError("no vectors yet: run `papersift embed` first")
    try:
        err.print(lib.build_index(recall=recall, adaptor=adaptor, memory=memory))
    except ValueError as error:
        raise UserError(f"{error}; the index was left as it was") from None


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
        click.echo(json.dumps({"paper": paper_id, **_results_json(results)},
                              ensure_ascii=False, indent=1))
        return
    if results.notice:
        err.print(f"note: {_escape(results.notice)}")
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


@main.group()
def vectors() -> None:
    """Move a library's vectors between machines (embed once, on a GPU box, use anywhere)."""


@vectors.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def vectors_export(ctx: click.Context, file: str) -> None:
    """Write the vectors of every paper, with the paper ids and the encoder, to FILE (.npz).

    Example: papersift vectors export library-vectors.npz
    """
    lib = _library(ctx)
    try:
        with progress_bars(err.is_terminal) as bar:
            written = lib.export_vectors(file, progress=bar)
    except LibraryError as error:
        raise UserError(str(error)) from None
    err.print(f"wrote {written:,} vectors of {lib.dense.name} to {_escape(file)}")


@vectors.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--encoder", "-e", "encoder", metavar="NAME",
              help="The encoder that made a bare .npy file (an .npz file says it itself).")
@click.pass_context
def vectors_import(ctx: click.Context, file: str, encoder: str | None) -> None:
    """Store the vectors in FILE for the papers this library has; semantic search is ready
    when it ends. Vectors of another encoder are refused.

    Example: papersift vectors import ../shared/data/arxiv-75k-minilm.f16.npy -e minilm-l6-int8
    """
    lib = _library(ctx)
    try:
        with progress_bars(err.is_terminal) as bar:
            report = lib.import_vectors(file, encoder=encoder, progress=bar)
    except LibraryError as error:
        raise UserError(str(error)) from None
    except EncoderError as error:
        raise UserError(str(error)) from None
    status = lib.status()
    err.print(f"imported {report.stored:,} of {report.total:,} vectors"
              + (f" ({report.unknown:,} for papers not in this library)" if report.unknown
                 else "")
              + f"; {status.embedded:,} of {status.papers:,} papers have vectors")


@main.command()
@click.argument("source")
@click.argument("destination")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a tty).")
@click.pass_context
def migrate(ctx: click.Context, source: str, destination: str, progress: bool | None) -> None:
    """Copy a library (papers, votes, people, community, settings, vectors) elsewhere.

    SOURCE and DESTINATION are library directories or postgresql:// URLs. Interrupted, it
    resumes where it stopped when run again; it ends by comparing the counts.

    Example: papersift migrate papersift-data postgresql://papersift@db.example/papers
    """
    if not Library.exists(source):
        raise UserError(f"no library at {source}: nothing to copy")
    try:
        with Library(source) as src, Library(destination) as dest, \
                progress_bars(progress if progress is not None else err.is_terminal) as bar:
            report = src.copy_to(dest, progress=bar)
    except LibraryError as error:
        raise UserError(str(error)) from None
    vectors = ", ".join(f"{n:,} vectors of {name}" for name, n in report.vectors.items())
    err.print(f"copied {report.papers:,} papers, {report.votes:,} votes, "
              f"{report.people:,} people"
              + (f", {_escape(vectors)}" if vectors else "") + f" to {_escape(dest.location)}")
    for what, (here, there) in report.counts.items():
        err.print(f"  {what}: {here:,} in the source, {there:,} in the copy")


@main.group(invoke_without_command=True)
@click.pass_context
def jobs(ctx: click.Context) -> None:
    """Background jobs (embedding): what each is doing, in whichever process runs it.

    Example: papersift jobs
    """
    if ctx.invoked_subcommand is not None:
        return
    states = _library(ctx).status().jobs
    if not states:
        err.print("no jobs have run in this library yet")
    for job in states:
        out.print(_escape(job.describe()))


@jobs.command("run")
@click.option("--every", default=10.0, show_default=True, type=click.FloatRange(1.0),
              help="Seconds between checks for new work.")
@click.pass_context
def jobs_run(ctx: click.Context, every: float) -> None:
    """Run the background jobs in this process until interrupted: embed what other processes
    add (for servers started with --no-embed, e.g. many web workers on several hosts).

    Example: papersift jobs run
    """

    lib = _library(ctx)
    lib.start_jobs(embed=True, every=every)
    err.print("running jobs; Ctrl-C stops them (their work so far is kept)")
    try:
        while True:
            time.sleep(60)
            for job in lib.status().jobs:
                err.print(_escape(job.describe()))
    except KeyboardInterrupt:
        lib.close()


@main.group()
def user() -> None:
    """Accounts: add (or approve) one, list them, remove one with all its data."""


@user.command("add")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.pass_context
def user_add(ctx: click.Context, email: str, admin: bool) -> None:
    """Add an account, or approve one waiting (closed registration); it signs in by mail.

    Example: papersift user add ada@example.org --admin
    """
    try:
        found = _library(ctx).add_user(email, admin=admin)
    except PersonError as error:
        raise UserError(str(error)) from None
    err.print(f"{_escape(found.email)} can sign in" + (" (administrator)" if found.admin else ""))


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """Every account, with those waiting for approval.

    Example: papersift user list
    """
    users = _library(ctx).users()
    if as_json:
        click.echo(json.dumps([{"email": u.email, "admin": u.admin, "status": u.status,
                                "created": u.created.isoformat() if u.created else None}
                               for u in users], indent=1))
        return
    if not users:
        err.print("no accounts yet: `papersift user add EMAIL`")
    for found in users:
        marks = [m for m in ("admin" if found.admin else "",
                             "waiting for approval: `papersift user add` it"
                             if found.status == "pending" else "") if m]
        since = f" since {found.created:%Y-%m-%d}" if found.created else ""
        out.print(_escape(f"{found.email}{since}" + (f" ({', '.join(marks)})" if marks else "")))


@user.command("remove")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def user_remove(ctx: click.Context, email: str, yes: bool) -> None:
    """Remove an account and all its data: votes, ratings, collections, tokens, sessions.

    Example: papersift user remove ada@example.org --yes
    """
    lib = _library(ctx)
    if lib.user(email) is None:
        raise UserError(f"no account for {email!r}; see `papersift user list`")
    if not yes:
        click.confirm(f"remove {email} and all their data?", abort=True, err=True)
    lib.remove_user(email)
    err.print(f"removed {_escape(email)} and their data")


@main.group()
def mail() -> None:
    """Mail (sign-in links, digests) through the SMTP server PAPERSIFT_SMTP_* names."""


@mail.command("test")
@click.argument("address")
def mail_test(address: str) -> None:
    """Send a test mail to ADDRESS through the SMTP server the PAPERSIFT_SMTP_* environment
    variables name (the password from PAPERSIFT_SMTP_PASSWORD).

    Example: PAPERSIFT_SMTP_HOST=smtp.example.org papersift mail test ada@example.org
    """
    from papersift.mail import MailError, MailSettings, Message, send

    try:
        settings = MailSettings.from_env()
        text = (f"This is a test mail from papersift, sent through {settings.smtp_host}:"
                f"{settings.smtp_port} ({settings.smtp_security}).\n")
        send(settings, [Message(normalize_email(address), "papersift test mail", text,
                                html=f"<p>{html_escape(text)}</p>")])
    except (MailError, PersonError) as error:
        raise UserError(str(error)) from None
    err.print(f"sent a test mail to {_escape(address)} through {settings.smtp_host}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; other than loopback needs PAPERSIFT_SECRET.")
@click.option("--port", "-p", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--embed/--no-embed", default=True, show_default=True,
              help="Embed papers that have no vector in the background while serving.")
@click.option("--proxy-headers", is_flag=True, help="Trust X-Forwarded-For (behind a proxy).")
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (about one per core); they share the library.")
@click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="A web setting (see README), e.g. --set per_page=50 --set title=Lab.")
@click.option("--harvest", is_flag=True, help="Harvest the sources of the library's schedule "
              "(`papersift harvest config`) in the background.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, embed: bool, proxy_headers: bool,
          workers: int, overrides: tuple[str, ...], harvest: bool) -> None:
    """Serve the web UI and the JSON API (OpenAPI at /docs).

    Search answers at once (lexical); hybrid search covers more papers as the background
    embedding goes, newest first (the search page shows its progress).

    Example: papersift serve --port 8000
    """
    try:
        from papersift.web.serve import ServeError, web_settings
        from papersift.web.serve import serve as run_server
    except ImportError as error:
        raise UserError(f"{error}: pip install 'papersift[server]'") from None
    try:
        settings = web_settings(overrides)
    except ValueError as error:
        raise UserError(f"--set: {error}") from None
    err.print(f"papersift: serving {ctx.obj['library']} on http://{host}:{port}/")
    try:
        run_server(ctx.obj["library"], host=host, port=port, embed=embed,
                   proxy_headers=proxy_headers, workers=workers, settings=settings,
                   harvest=harvest)
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


# The harvest and map commands live in their own modules, which use the helpers above.
from papersift.cli_digest import digest  # noqa: E402
from papersift.cli_harvest import harvest  # noqa: E402
from papersift.cli_votes import votes  # noqa: E402
from papersift.map_cli import map_command  # noqa: E402

main.add_command(digest)
main.add_command(harvest)
main.add_command(map_command)
main.add_command(votes)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
