"""The community on the web app (in process, real SQLite, mail through aiosmtpd): comments
in safe Markdown with edit, delete, admin hiding and counts on listings; reply mails when
asked for; submissions to a day's feed by id or pasted metadata, moderated by admins;
rate limits; a member's export and deletion include all of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from papersift.library import Library
from papersift.web import WebSettings, create_app
from tests.community_fixtures import BASE, DAYS, community_library, sample_days
from tests.mailbox import Mailbox
from tests.postgres_fixtures import ON_BOTH, drop_database, library_on
from tests.test_people_web import sign_in


@pytest.fixture
def library(request: pytest.FixtureRequest, arxiv_sample: Path, tmp_path: Path,
            mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """The community test library; in PostgreSQL too for the tests marked ``@ON_BOTH``."""
    cache = tmp_path_factory.getbasetemp() / "community-cache"
    cache.mkdir(exist_ok=True)
    embedded = community_library(cache, tmp_path / "lib", arxiv_sample, mail=mailbox.settings)
    lib, url = library_on(request, embedded, mail=mailbox.settings)
    assert isinstance(lib, Library)
    lib.add_user("ada@example.org", admin=True)
    yield lib
    lib.close()
    if url:
        drop_database(request.getfixturevalue("postgres_server"), url)


def member(library: Library, mailbox: Mailbox, email: str, **settings: object
           ) -> tuple[TestClient, str]:
    options = {"base_url": BASE, "registration": "open", **settings}
    app = create_app(library, settings=WebSettings(**options))  # type: ignore[arg-type]
    web = TestClient(app, base_url=BASE)
    return web, sign_in(web, mailbox, email)


def paper_on(library: Library, day_index: int = 2) -> str:
    return library.daily(DAYS[day_index]).papers[0].id


@ON_BOTH
def test_comments_render_safely_and_admins_hide_them(library: Library,
                                                     mailbox: Mailbox) -> None:
    bob, bob_csrf = member(library, mailbox, "bob@example.org")
    ada, ada_csrf = member(library, mailbox, "ada@example.org")
    paper = paper_on(library)
    body = ("Nice **result** <script>alert(1)</script> [code](https://github.com/x/y) "
            "[bad](javascript:alert(1))")
    posted = bob.post(f"/papers/{paper}/comments", data={"body": body, "csrf": bob_csrf},
                      follow_redirects=False)
    assert posted.status_code == 303 and "#comment-" in posted.headers["location"]
    page = TestClient(bob.app, base_url=BASE).get(f"/papers/{paper}")  # a visitor
    assert "<strong>result</strong>" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    assert '<a href="https://github.com/x/y" rel="nofollow ugc noopener">code</a>' in page.text
    assert 'href="javascript' not in page.text
    listing = bob.get(f"/days/{DAYS[2].isoformat()}")
    assert f'href="/papers/{paper}#comments">1 comment</a>' in listing.text
    comment_id = int(posted.headers["location"].rsplit("-", 1)[1])
    # only the author edits or deletes; an admin hides
    assert ada.post(f"/comments/{comment_id}/edit", data={"body": "mine now", "csrf": ada_csrf}
                    ).status_code == 403
    assert ada.post(f"/comments/{comment_id}/delete", data={"csrf": ada_csrf}).status_code == 403
    bob.post(f"/comments/{comment_id}/edit", data={"body": "Nice *result*", "csrf": bob_csrf})
    api = bob.get("/api/comments", params={"paper": paper}).json()
    assert [(c["body"], c["html"], c["mine"]) for c in api] == [
        ("Nice *result*", "<p>Nice <em>result</em></p>\n", True)]
    assert api[0]["edited"] is not None
    assert bob.post(f"/comments/{comment_id}/hide", data={"csrf": bob_csrf}).status_code == 403
    assert ada.post(f"/comments/{comment_id}/hide", data={"csrf": ada_csrf},
                    follow_redirects=False).status_code == 303
    seen = TestClient(bob.app, base_url=BASE).get(f"/papers/{paper}")
    assert "Nice <em>result</em>" not in seen.text and "No comments yet" in seen.text
    assert "1 comment" not in bob.get(f"/days/{DAYS[2].isoformat()}").text
    assert "hidden by an admin" in ada.get(f"/papers/{paper}").text
    second = bob.post("/api/comments", json={"paper": paper, "body": "again"},
                      headers={"X-CSRF-Token": bob_csrf})
    assert second.status_code == 201
    assert bob.delete(f"/api/comments/{second.json()['id']}",
                      headers={"X-CSRF-Token": bob_csrf}).status_code == 204
    assert bob.get("/api/comments", params={"paper": paper}).json() == []


@ON_BOTH
def test_reply_mails_go_only_to_those_who_asked(library: Library, mailbox: Mailbox) -> None:
    ada, ada_csrf = member(library, mailbox, "ada@example.org")
    bob, bob_csrf = member(library, mailbox, "bob@example.org")
    ada.post("/account/community", data={"name": "Ada L.", "notify_replies": "1",
                                         "csrf": ada_csrf})
    paper = paper_on(library)
    first = ada.post("/api/comments", json={"paper": paper, "body": "Does it scale?"},
                     headers={"X-CSRF-Token": ada_csrf}).json()
    assert first["author"] == "Ada L."
    mailbox.clear()
    reply = bob.post("/api/comments", json={"paper": paper, "body": "It does, see *Table 3*.",
                                            "reply_to": first["id"]},
                     headers={"X-CSRF-Token": bob_csrf}).json()
    mail = mailbox.wait(1)[0]
    assert mail["To"] == "ada@example.org" and "New reply" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "It does, see *Table 3*." in text
    assert f"{BASE}/papers/{paper}#comment-{reply['id']}" in text
    mailbox.clear()
    ada.post("/api/comments", json={"paper": paper, "body": "Thanks", "reply_to": reply["id"]},
             headers={"X-CSRF-Token": ada_csrf})
    with pytest.raises(AssertionError):  # bob did not ask for reply mails
        mailbox.wait(1, timeout=1.5)


@ON_BOTH
def test_submissions_by_id_and_by_pasted_metadata_moderated_by_admins(
        library: Library, mailbox: Mailbox) -> None:
    bob, bob_csrf = member(library, mailbox, "bob@example.org")
    ada, ada_csrf = member(library, mailbox, "ada@example.org")
    bob.post("/account/community", data={"name": "Bob B.", "csrf": bob_csrf})
    day = DAYS[2].isoformat()
    older = library.daily(DAYS[0]).papers[3]
    by_id = bob.post("/submit", data={"day": day, "arxiv_id": f"arXiv:{older.id}v2",
                                      "csrf": bob_csrf}, follow_redirects=False)
    assert by_id.status_code == 303 and by_id.headers["location"] == f"/days/{day}#submitted"
    pasted = bob.post("/api/submissions", headers={"X-CSRF-Token": bob_csrf}, json={
        "day": day, "title": "Attention <b>is</b> all you need, again",
        "abstract": "We revisit attention with a <script>alert(1)</script> twist and more.",
        "authors": "Ann One\nBen Two"})
    assert pasted.status_code == 201, pasted.text
    new_id = pasted.json()["paper"]["id"]
    assert library.get(new_id) is not None and pasted.json()["submitter"] == "Bob B."
    again = bob.post("/api/submissions", headers={"X-CSRF-Token": bob_csrf},
                     json={"day": day, "arxiv_id": older.id})
    assert again.status_code == 400 and "already in the feed" in again.json()["detail"]
    unknown = bob.post("/api/submissions", headers={"X-CSRF-Token": bob_csrf},
                       json={"day": day, "arxiv_id": "2601.99999"})
    assert unknown.status_code == 400 and "paste its" in unknown.json()["detail"]
    page = TestClient(bob.app, base_url=BASE).get(f"/days/{day}")
    section = page.text.split('id="submitted"')[1].split("</section>")[0]
    assert older.title in section and "Submitted by <span class=\"who\">Bob B.</span>" in section
    assert "Attention &lt;b&gt;is&lt;/b&gt; all you need" in section
    assert "<b>is</b>" not in page.text
    subs = bob.get(f"/api/days/{day}/submissions").json()
    assert [s["paper"]["id"] for s in subs] == [older.id, new_id]
    # moderation: admins only
    assert bob.post(f"/submissions/{subs[1]['id']}/state",
                    data={"state": "featured", "csrf": bob_csrf}).status_code == 403
    ada.post(f"/submissions/{subs[1]['id']}/state", data={"state": "featured", "csrf": ada_csrf})
    ada.post(f"/submissions/{subs[0]['id']}/state", data={"state": "hidden", "csrf": ada_csrf})
    shown = bob.get(f"/api/days/{day}/submissions").json()
    assert [(s["paper"]["id"], s["state"]) for s in shown] == [(new_id, "featured")]
    assert "Featured</strong>" in TestClient(bob.app, base_url=BASE).get(f"/days/{day}").text
    assert len(ada.get(f"/api/days/{day}/submissions").json()) == 2  # admins see hidden ones


@ON_BOTH
def test_rate_limits_on_comments_submissions_and_subscription_mails(
        library: Library, mailbox: Mailbox) -> None:
    bob, csrf = member(library, mailbox, "bob@example.org", comments_per_hour=1.0,
                       submissions_per_day=2.0, subscription_mails_per_hour=2.0)
    paper = paper_on(library)
    codes = [bob.post("/api/comments", json={"paper": paper, "body": f"c{i}"},
                      headers={"X-CSRF-Token": csrf}).status_code for i in range(11)]
    assert codes == [201] * 10 + [429]
    ids = [p.id for p in library.daily(DAYS[1]).papers[:3]]
    codes = [bob.post("/api/submissions", json={"day": DAYS[2].isoformat(), "arxiv_id": i},
                      headers={"X-CSRF-Token": csrf}).status_code for i in ids]
    assert codes == [201, 201, 429]
    codes = [bob.post("/digests/subscribe", data={"email": "carol@example.org",
                                                  "csrf": csrf}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@ON_BOTH
def test_export_and_deletion_include_the_community(library: Library, mailbox: Mailbox,
                                                   arxiv_sample: Path) -> None:
    bob, csrf = member(library, mailbox, "bob@example.org")
    paper = paper_on(library)
    bob.post("/account/community", data={"name": "Bob B.", "csrf": csrf})
    bob.post("/api/comments", json={"paper": paper, "body": "keep me"},
             headers={"X-CSRF-Token": csrf})
    bob.post("/api/submissions", json={"day": DAYS[2].isoformat(), "arxiv_id": paper},
             headers={"X-CSRF-Token": csrf})
    made = library.subscribe("bob@example.org", link_for=lambda s: s)
    assert library.confirm_subscription(made.link) is not None
    bob.post("/digests/searches", data={"query": "robot grasping", "mode": "hybrid",
                                        "csrf": csrf})
    library.add(sample_days(arxiv_sample)[DAYS[3]])
    assert library.send_digests(BASE).sent == 1
    data = bob.get("/api/me/export").json()["community"]
    assert data["name"] == "Bob B." and data["comments"][0]["body"] == "keep me"
    assert data["submissions"][0]["paper"] == paper
    assert data["subscription"]["saved_searches"] == [{"query": "robot grasping",
                                                       "mode": "hybrid"}]
    assert data["subscription"]["digests"][0]["state"] == "sent"
    assert bob.delete("/api/me", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert library.comments(paper) == [] and library.submissions(DAYS[2]) == []
    assert library.user("bob@example.org") is None
    assert library.community_store.subscription_by_email("bob@example.org") is None
    page = TestClient(bob.app, base_url=BASE).get(f"/days/{DAYS[2].isoformat()}")
    assert "Bob B." not in page.text and re.search(r"1 comment\b", page.text) is None
