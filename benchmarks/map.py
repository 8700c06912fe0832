"""The map at 75k papers: cluster quality, layout input, compute time and memory, incremental
placement, and the map page in Chromium.

    flock /tmp/papersift-heavy.lock nice -n 5 python benchmarks/map.py \\
        --out benchmarks/results/map.md

Reads the shared 75k sample and its precomputed MiniLM vectors (../shared/data); builds a
library of it in a temporary folder (ingest without embedding, then `papersift vectors
import`), and writes docs/screenshots/map.png (the page) and docs/map-75k.png (the picture).
Every comparison is measured in the same run: k-means against HDBSCAN, a 64-coordinate
prefix against all 384, placing 1,000 papers against recomputing, the map page against the
home page.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import DATA, SAMPLE, machine, publish  # noqa: E402

VECTORS = DATA / "arxiv-75k-minilm.f16.npy"
ENCODER = "minilm-l6-int8"


def ami(truth: np.ndarray, found: np.ndarray) -> float:
    from sklearn.metrics import adjusted_mutual_info_score

    return float(adjusted_mutual_info_score(truth, found))


def primary_categories() -> np.ndarray:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        names = [json.loads(line)["categories"][0] for line in lines]
    return np.unique(names, return_inverse=True)[1]


def neighbour_overlap(vectors: np.ndarray, xy: np.ndarray, rows: np.ndarray, k: int = 10
                      ) -> float:
    """Share of each sampled paper's 10 nearest neighbours (cosine, 384-d) that are among its
    10 nearest on the map."""
    hits = 0
    for start in range(0, len(rows), 250):
        part = rows[start:start + 250]
        high = vectors[part] @ vectors.T
        low = -((xy[part][:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        high[np.arange(len(part)), part] = low[np.arange(len(part)), part] = -np.inf
        top_high = np.argpartition(-high, k, axis=1)[:, :k]
        top_low = np.argpartition(-low, k, axis=1)[:, :k]
        hits += sum(len(np.intersect1d(a, b)) for a, b in zip(top_high, top_low, strict=True))
    return hits / (k * len(rows))


def clustering(vectors: np.ndarray, truth: np.ndarray, layout_xy: np.ndarray) -> list[str]:
    """AMI with primary categories: k-means (chosen) against HDBSCAN on a 5-d UMAP and
    k-means on the 2-D map."""
    import umap
    from sklearn.cluster import HDBSCAN, KMeans

    from papersift.atlas.topics import find_topics
    from papersift.vectors.clustering import assign, kmeans

    rows = ["| method | clusters | noise | AMI | seconds |", "|---|---:|---:|---:|---:|"]
    started = time.perf_counter()
    found = find_topics(vectors)
    took = time.perf_counter() - started
    rows.append(f"| **k-means on the vectors, topics (chosen)** | {found.n_topics} | 0% | "
                f"**{ami(truth, found.topic):.3f}** | {took:.1f} |")
    rows.append(f"| **k-means on the vectors, areas (chosen)** | {found.n_areas} | 0% | "
                f"**{ami(truth, found.area()):.3f}** | (same run) |")
    started = time.perf_counter()
    five = umap.UMAP(n_components=5, n_neighbors=15, min_dist=0.0, metric="cosine",
                     random_state=42, n_jobs=1).fit_transform(vectors)
    reduce_s = time.perf_counter() - started
    started = time.perf_counter()
    labels = HDBSCAN(min_cluster_size=100, min_samples=10, copy=True).fit_predict(five)
    hdbscan_s = time.perf_counter() - started
    clusters = int(labels.max()) + 1
    noise = labels < 0
    rows.append(f"| HDBSCAN on a 5-d UMAP (BERTopic's recipe), noise as one cluster | "
                f"{clusters} | {noise.mean():.0%} | {ami(truth, labels):.3f} | "
                f"{reduce_s:.0f} + {hdbscan_s:.0f} |")
    rows.append(f"| HDBSCAN on a 5-d UMAP, clustered papers only | {clusters} | excluded | "
                f"{ami(truth[~noise], labels[~noise]):.3f} | (same run) |")
    started = time.perf_counter()
    same_k = assign(vectors, kmeans(vectors, clusters, iters=20, sample=len(vectors)))
    rows.append(f"| k-means on the vectors at HDBSCAN's k | {clusters} | 0% | "
                f"{ami(truth, same_k):.3f} | {time.perf_counter() - started:.1f} |")
    for k in (found.n_areas, found.n_topics):
        on_map = KMeans(k, n_init=1, random_state=0).fit_predict(layout_xy)
        rows.append(f"| k-means on the 2-D map | {k} | 0% | {ami(truth, on_map):.3f} | |")
    return rows


def layouts(vectors: np.ndarray, sample_rows: np.ndarray) -> tuple[list[str], np.ndarray]:
    """UMAP on all 384 coordinates against nested 128- and 64-coordinate prefixes."""
    from papersift.atlas.layout import LayoutParams, layout

    rows = ["| UMAP input | seconds | 10-NN kept on the map |", "|---|---:|---:|"]
    kept_xy = None
    for prefix in (128, 64, None):
        started = time.perf_counter()
        xy = layout(vectors, LayoutParams(prefix=prefix))
        took = time.perf_counter() - started
        kept = neighbour_overlap(vectors, xy, sample_rows)
        name = "all 384 coordinates (chosen)" if prefix is None else f"nested prefix, {prefix}"
        rows.append(f"| {name} | {took:.0f} | {kept:.3f} |")
        kept_xy = xy
    assert kept_xy is not None
    return rows, kept_xy


def cli(library: Path, *args: str) -> tuple[float, float, str]:
    """Run ``papersift`` in a child process: (seconds, peak MB, stderr)."""
    command = ["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "papersift.cli",
               "--library", str(library), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    seconds, kb = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kb) / 1024, done.stderr


def incremental(library_path: Path, vectors: np.ndarray, full_s: float) -> list[str]:
    """Forget 1,000 random papers' points, then place them again without a recompute."""
    import papersift
    from papersift.atlas import library_map, store

    lib = papersift.open(library_path)
    full = library_map.load(lib)
    assert full is not None
    # rowids follow the file's order, so point i is row i of ``vectors``
    assert np.array_equal(full.rowids, np.arange(1, len(vectors) + 1))
    rng = np.random.default_rng(7)
    out = np.sort(rng.choice(len(full), 1000, replace=False))
    keep = np.setdiff1d(np.arange(len(full)), out)
    store.save(lib.path / "map", replace(
        full, rowids=full.rowids[keep], xy=full.xy[keep], topic=full.topic[keep],
        day=full.day[keep], category=full.category[keep]).with_summaries())
    started = time.perf_counter()
    report = library_map.update(lib)
    took = time.perf_counter() - started
    placed = library_map.load(lib)
    assert placed is not None and report.placed == 1000
    # vectors are in file order = rowid order (the library was ingested from the same file)
    at = placed.positions(full.rowids[out])
    moved = np.linalg.norm(placed.xy[at] - full.xy[out], axis=1)
    kept_umap = neighbour_overlap(vectors, full.xy, out)
    kept_placed = neighbour_overlap(vectors, placed.xy, at)
    same_topic = float((placed.topic[at] == full.topic[out]).mean())
    lib.close()
    return [
        "| measure | value |", "|---|---:|",
        f"| time to place 1,000 new papers (`papersift map` after adding them) | "
        f"{took:.1f} s |",
        f"| the full computation, for reference | {full_s:.0f} s ({full_s / took:.0f}x) |",
        f"| 10-NN kept on the map: the 1,000 as placed | {kept_placed:.3f} |",
        f"| 10-NN kept on the map: the same 1,000 as UMAP laid them out | {kept_umap:.3f} |",
        f"| median distance from their UMAP position (map width 1) | {np.median(moved):.3f} |",
        f"| placed in the topic k-means gave them | {same_topic:.1%} |",
    ]


def browser(library_path: Path, runs: int) -> tuple[list[str], dict[str, int]]:
    """Data sizes and time to first draw of /map, against the home page's load."""
    from playwright.sync_api import sync_playwright
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
    from tests.web_fixtures import RunningServer

    import papersift
    from papersift.web import create_app

    lib = papersift.open(library_path)
    sizes: dict[str, int] = {}
    first_draw, draw_ms, zoom_ms, home = [], [], [], []
    with RunningServer(create_app(lib)) as server, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for run in range(runs):
            context = chromium.new_context(viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.goto(server.url + "/")
            home.append(page.evaluate(
                "performance.getEntriesByType('navigation')[0].loadEventEnd"))
            page.goto(server.url + "/map")
            _until(page, "Boolean(window.__map && window.__map.firstDraw !== null)")
            first_draw.append(page.evaluate("window.__map.firstDraw"))
            draws = page.evaluate("window.__map.draws")
            page.get_by_role("button", name="Reset").click()  # a redraw of everything
            _until(page, f"window.__map.draws > {draws}")
            draw_ms.append(page.evaluate("window.__map.drawMs"))
            page.get_by_role("button", name="Zoom in").click()
            _until(page, "window.__map.scale > 1.5")
            zoom_ms.append(page.evaluate("window.__map.drawMs"))
            if run == 0:
                meta = page.request.get(server.url + "/api/map")
                sizes["/api/map (JSON: topics, areas, categories)"] = len(meta.body())
                points = page.request.get(server.url + meta.json()["points"]["url"])
                sizes["/api/map/points (binary)"] = len(points.body())
                titles = page.request.get(server.url + "/api/map/titles?chunk=0")
                sizes["/api/map/titles, one chunk of 1,000 (on hover)"] = len(titles.body())
                page.get_by_role("button", name="Zoom out").click()
                _until(page, "window.__map.scale < 1.5")
                shots = REPO / "docs" / "screenshots"
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "map.png"))
            context.close()
        chromium.close()
    lib.close()
    rows = [
        "| measure | median of runs |", "|---|---:|",
        f"| map page: navigation start to first draw of all points | "
        f"{np.median(first_draw):.0f} ms |",
        f"| home page (daily listing): navigation start to load, for reference | "
        f"{np.median(home):.0f} ms |",
        f"| one redraw of the whole map (all points, labels) | {np.median(draw_ms):.1f} ms |",
        f"| one redraw after zooming in 1.8x | {np.median(zoom_ms):.1f} ms |",
    ]
    return rows, sizes


def _until(page: Any, expression: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--runs", type=int, default=5, help="Page loads in Chromium.")
    args = parser.parse_args()
    vectors = np.asarray(np.load(VECTORS), dtype=np.float32)
    truth = primary_categories()
    sample_rows = np.random.default_rng(3).choice(len(vectors), 2000, replace=False)
    report = ["# The map at 75k papers", "",
              "- command: `flock /tmp/papersift-heavy.lock nice -n 5 python benchmarks/map.py "
              "--out benchmarks/results/map.md`",
              f"- data: {len(vectors):,} papers of arxiv-75k.jsonl.gz, their MiniLM vectors "
              "(arxiv-75k-minilm.f16.npy); truth for AMI: each paper's primary arXiv category "
              f"({truth.max() + 1} of them)",
              f"- machine: {machine()}", ""]
    print("layouts…", flush=True)
    layout_rows, xy = layouts(vectors, sample_rows)
    report += ["## Layout input", "", *layout_rows, ""]
    print("clustering…", flush=True)
    report += ["## Clustering against arXiv primary categories", "",
               *clustering(vectors, truth, xy), ""]
    with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
        library = Path(tmp) / "lib"
        print("library…", flush=True)
        cli(library, "ingest", "--no-embed", "--no-progress", str(SAMPLE))
        cli(library, "vectors", "import", str(VECTORS), "-e", ENCODER)
        print("map…", flush=True)
        full_s, full_mb, _ = cli(library, "map", "--rebuild", "--no-progress")
        picture = REPO / "docs" / "map-75k.png"
        png_s, _, _ = cli(library, "map", "--png", str(picture), "--no-progress")
        report += ["## Computing the map", "", "| step | seconds | peak memory |",
                   "|---|---:|---:|",
                   f"| `papersift map --rebuild` (layout, topics, labels, write) | "
                   f"{full_s:.0f} | {full_mb:,.0f} MB |",
                   f"| `papersift map --png` (nothing new to place, then the picture) | "
                   f"{png_s:.0f} | |", ""]
        import papersift
        from papersift.atlas import library_map

        lib = papersift.open(library)
        paper_map = library_map.load(lib)
        assert paper_map is not None
        report += ["Its steps, in seconds: " + ", ".join(
            f"{step} {seconds:.0f}" for step, seconds in paper_map.meta["seconds"].items()), ""]
        largest = sorted(paper_map.topics, key=lambda t: -t.size)[:15]
        report += ["## The 15 largest topics", "", "| papers | area | topic: distinctive terms |",
                   "|---:|---|---|"]
        report += [f"| {t.size:,} | {paper_map.areas[t.area].label} | "
                   f"{', '.join(t.terms[:5])} |" for t in largest]
        report += [""]
        lib.close()
        print("incremental…", flush=True)
        report += ["## Placing new papers", "", *incremental(library, vectors, full_s), ""]
        print("browser…", flush=True)
        rows, sizes = browser(library, args.runs)
        report += ["## The map page in Chromium", "", "| data | bytes |", "|---|---:|"]
        report += [f"| {name} | {size:,} |" for name, size in sizes.items()]
        report += ["", *rows, ""]
    publish("\n".join(report), args.out)


if __name__ == "__main__":
    main()
