"""The paper-identity contract: aliases, papers by title, and making two ids one paper."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from papersift.backends import Backend
from papersift.identity import title_key
from papersift.papers import Paper
from tests.contracts.conftest import sample_papers

SEED = Paper(id="sha256:00000000000000aa", title="Matryoshka Representation Learning",
             abstract="Nested embeddings.", author_count=11, published=date(2022, 5, 26),
             upvotes=3)
ARXIV = Paper(id="2205.13147", title="Matryoshka Representation Learning",
              abstract="Nested embeddings.", authors=("Aditya Kusupati", "Ali Farhadi"),
              categories=("cs.LG",), published=date(2022, 5, 26))


def test_papers_by_normalised_title(backend: Backend) -> None:
    store = backend.store
    store.upsert([SEED, Paper(id="x1", title="Another paper", abstract="a")])
    found = store.titled([title_key("MATRYOSHKA representation-learning"), "nothing here"])
    assert [p.id for p in found[title_key(SEED.title)]] == [SEED.id]
    assert "nothing here" not in found


def test_an_alias_only_stored_takes_the_new_id_and_keeps_its_key(backend: Backend) -> None:
    store = backend.store
    store.upsert([SEED])
    key, seq = store.key_of(SEED.id), store.seq
    assert store.add_vote(SEED.id, "voter-1")
    store.identify(SEED.id, ARXIV.id)
    assert store.key_of(ARXIV.id) == key and store.key_of(SEED.id) is None
    assert store.seq > seq  # the derived indexes see the new id
    moved = store.get(SEED.id)  # the old id still resolves
    assert moved is not None and moved.id == ARXIV.id and moved.votes_here == 1
    assert store.aliases_of([SEED.id, ARXIV.id, "nope"]) == {SEED.id: ARXIV.id}
    assert len(store) == 1


def test_both_stored_fold_into_one_with_votes_and_fields(backend: Backend) -> None:
    store = backend.store
    store.upsert([SEED, ARXIV])
    keep = store.key_of(ARXIV.id)
    gone = store.key_of(SEED.id)
    assert store.add_vote(SEED.id, "voter-1") and store.add_vote(SEED.id, "voter-2")
    assert store.add_vote(ARXIV.id, "voter-2")
    seq = store.seq
    store.identify(SEED.id, ARXIV.id)
    assert len(store) == 1 and store.key_of(ARXIV.id) == keep
    paper = store.get(ARXIV.id)
    assert paper is not None
    assert paper.votes_here == 2  # voter-2 counted once
    assert paper.upvotes == 3 and paper.author_count == 11  # filled from the seed record
    assert paper.authors == ARXIV.authors and paper.categories == ("cs.LG",)
    assert store.removed_since(seq) == [gone]  # the derived indexes drop the folded row
    assert store.voted([ARXIV.id], "voter-1") == {ARXIV.id}
    assert store.get(SEED.id) == paper


def test_an_alias_of_a_stored_paper_is_only_recorded(backend: Backend) -> None:
    store = backend.store
    store.upsert([ARXIV])
    seq = store.seq
    store.identify(SEED.id, ARXIV.id)
    assert store.seq == seq and store.aliases_of([SEED.id]) == {SEED.id: ARXIV.id}
    with pytest.raises(KeyError):
        store.identify("unknown-1", "unknown-2")


def test_a_renamed_papers_vector_stays_current(backend: Backend) -> None:
    store = backend.store
    store.upsert([SEED])
    key = store.key_of(SEED.id)
    assert key is not None
    dense = backend.dense("test-encoder", 4)
    dense.write(np.asarray([key]), np.asarray([[1.0, 0, 0, 0]], dtype=np.float32))
    store.mark_embedded(dense.name, [(key, store.seqs_of([key])[key])])
    assert store.count_unembedded(dense.name) == 0
    store.identify(SEED.id, ARXIV.id)
    assert store.count_unembedded(dense.name) == 0  # same text: no need to embed again
    assert store.current_keys(dense.name).tolist() == [key]


def test_aliases_are_read_out_page_by_page_and_written_back(backend: Backend) -> None:
    """What `papersift migrate` copies: every alias with the id of the paper it names."""
    store = backend.store
    papers = sample_papers(3)
    store.upsert(papers)
    for n in range(5):
        store.identify(f"doi:10.1/{n}", papers[n % 2].id)
    first = store.alias_records("", limit=3)
    rest = store.alias_records(first[-1][0], limit=3)
    assert len(first) == 3 and len(rest) == 2
    pairs = first + rest
    assert sorted(pairs) == [(f"doi:10.1/{n}", papers[n % 2].id) for n in range(5)]
    assert store.import_aliases([("doi:10.1/0", papers[0].id)]) == 0  # already so
    moved = [("doi:10.1/0", papers[2].id), ("doi:10.1/9", "2501.77777")]  # unknown: skipped
    assert store.import_aliases(moved) == 1
    assert store.aliases_of(["doi:10.1/0", "doi:10.1/9"]) == {"doi:10.1/0": papers[2].id}
