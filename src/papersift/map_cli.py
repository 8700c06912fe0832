"""``papersift map``: a thin command over the atlas, registered on the main group at the end
of :mod:`papersift.cli` (whose helpers it imports when called, as that module imports this
one)."""

from __future__ import annotations

from pathlib import Path

import click

from papersift.atlas import EXTRA_HINT, MapError


@click.command(name="map")
@click.option("--rebuild", is_flag=True,
              help="Recompute the layout, topics and labels over every embedded paper.")
@click.option("--png", "png", type=click.Path(dir_okay=False, writable=True),
              help="Also write a picture of the map (PNG, or SVG/PDF by the suffix).")
@click.option("--topics", "n_labels", default=40, show_default=True, type=click.IntRange(0),
              help="Label this many of the largest topics in the picture.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a tty).")
@click.pass_context
def map_command(ctx: click.Context, rebuild: bool, png: str | None, n_labels: int,
                progress: bool | None) -> None:
    """Map the library: a 2-D layout of its papers, topics in broad areas, and their labels.

    The first run computes the map (5-10 minutes for 75k papers on 2 cores); later runs
    place new papers by their nearest neighbours; --rebuild recomputes. The web app shows
    it at /map.

    Example: papersift map --png map.png
    """
    from papersift.atlas import library_map
    from papersift.cli import UserError, _library, err, progress_bars

    if png and not Path(png).resolve().parent.is_dir():
        raise UserError(f"{png}: no such folder to write the picture in")
    lib = _library(ctx)
    show = progress if progress is not None else err.is_terminal
    try:
        with progress_bars(show) as bar:
            report = library_map.update(lib, rebuild=rebuild, progress=bar)
        err.print(report.summary(), markup=False)
        if png:
            from papersift.atlas.render import render

            paper_map = library_map.load(lib)
            assert paper_map is not None  # update() has just written it
            picture = render(paper_map, png, topics=n_labels,
                             title=f"{len(paper_map):,} papers")
            err.print(f"wrote {picture.path} ({len(picture.labels)} labels, "
                      f"{picture.dropped} left out for lack of room)", markup=False)
    except MapError as error:
        raise UserError(str(error)) from None
    except ImportError as error:
        raise UserError(f"{error}" if EXTRA_HINT in str(error) else
                        f"{error}: {EXTRA_HINT}") from None
    except OSError as error:
        raise UserError(f"{png}: {error.strerror or error}") from None
