"""Accounts through the library, with mail to a real SMTP server on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from papersift.library import Library
from papersift.people import PersonError
from papersift.settings import Settings
from tests.contracts.conftest import sample_papers
from tests.mailbox import Mailbox
from tests.postgres_fixtures import BACKENDS, place_on


@pytest.fixture(params=BACKENDS)
def library(request: pytest.FixtureRequest, tmp_path: Path,
            mailbox: Mailbox) -> Iterator[Library]:
    """A library of 20 papers, in a directory and in PostgreSQL."""
    lib = Library(place_on(request, tmp_path / "lib"), mail=mailbox.settings,
                  settings=Settings(sign_in_minutes=0.02))  # 1.2 s: expiry is testable
    lib.add(sample_papers(20))
    yield lib
    lib.close()


def link_for(secret: str) -> str:
    return f"https://papers.example.org/signin/confirm?token={secret}"


def mailed_secret(mailbox: Mailbox) -> str:
    link = mailbox.last_link()
    return parse_qs(urlsplit(link).query)["token"][0]


def test_a_mailed_link_signs_in_once_then_fails(library: Library, mailbox: Mailbox) -> None:
    asked = library.request_sign_in("Ada@Example.org", link_for=link_for, registration="open",
                                    next_path="/feed", site="Lab papers")
    assert asked.outcome == "sent"
    message = mailbox.wait(1)[0]
    assert message["To"] == "ada@example.org" and message["Subject"] == "Sign in to Lab papers"
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert 'href="https://papers.example.org/signin/confirm?token=' in html
    secret = mailed_secret(mailbox)
    session = library.sign_in(secret)
    assert session is not None and session.user.email == "ada@example.org"
    assert session.next_path == "/feed"
    assert library.session_user(session.secret) == session.user
    assert library.sign_in(secret) is None  # used
    assert library.user("ada@example.org") is not None  # open registration made it


def test_a_link_expires(library: Library, mailbox: Mailbox) -> None:
    library.add_user("ada@example.org")
    library.request_sign_in("ada@example.org", link_for=link_for, registration="closed")
    secret = mailed_secret(mailbox)
    time.sleep(1.5)
    assert library.sign_in(secret) is None


def test_closed_registration_waits_for_an_admin(library: Library, mailbox: Mailbox) -> None:
    asked = library.request_sign_in("new@example.org", link_for=link_for, registration="closed")
    assert asked.outcome == "pending" and asked.message is None
    pending = library.user("new@example.org")
    assert pending is not None and pending.status == "pending"
    again = library.request_sign_in("new@example.org", link_for=link_for, registration="open")
    assert again.outcome == "ignored"  # pending stays pending, whatever the setting
    time.sleep(0.3)
    assert mailbox.messages == []
    approved = library.add_user("new@example.org")
    assert approved.active and approved.id == pending.id
    assert library.request_sign_in("new@example.org", link_for=link_for,
                                   registration="closed").outcome == "sent"
    assert library.sign_in(mailed_secret(mailbox)) is not None


def test_no_new_accounts_when_the_limit_says_so(library: Library) -> None:
    asked = library.request_sign_in("x@example.org", link_for=link_for, registration="open",
                                    allow_new=False)
    assert asked.outcome == "ignored" and library.user("x@example.org") is None


def test_sessions_end_here_or_everywhere(library: Library) -> None:
    from papersift.accounts import start_session

    ada = library.add_user("ada@example.org", admin=True)
    assert ada.admin
    one = start_session(library.users_store, ada, days=1)
    two = start_session(library.users_store, ada, days=1)
    assert library.sessions(ada) == 2
    library.sign_out(one.secret)
    assert library.session_user(one.secret) is None and library.session_user(two.secret) == ada
    assert library.sign_out_everywhere(ada) == 1
    assert library.session_user(two.secret) is None


def test_api_tokens(library: Library) -> None:
    ada = library.add_user("ada@example.org")
    secret, token = library.create_api_token(ada, "  zotero   sync ")
    assert secret.startswith("pst_") and token.name == "zotero sync"
    assert library.api_token_user(secret) == ada
    assert library.api_token_user("pst_" + "x" * 43) is None
    assert library.api_token_user(secret[4:]) is None  # not a token's shape
    with pytest.raises(PersonError, match="name"):
        library.create_api_token(ada, "   ")
    assert library.revoke_api_token(ada, token.id)
    assert library.api_token_user(secret) is None


def test_addresses_are_checked_and_normalised(library: Library) -> None:
    for bad in ["", "ada", "ada@", "@example.org", "a b@example.org", "<a@b.org>",
                "ada@example.org\nBcc: eve@example.org"]:
        with pytest.raises(PersonError, match="not an e-mail address"):
            library.request_sign_in(bad, link_for=link_for, registration="open")
    assert library.add_user(" ADA@Example.ORG ").email == "ada@example.org"


def test_member_votes_ratings_and_removal(library: Library) -> None:
    ada = library.add_user("ada@example.org")
    paper = sample_papers(20)[3].id
    assert library.upvote(paper, "cookie-voter").voted
    vote = library.member_upvote(paper, ada)
    assert vote.voted and vote.upvotes == library.get(paper).total_upvotes  # type: ignore[union-attr]
    counted = library.get(paper)
    assert counted is not None and (counted.votes_anonymous, counted.votes_members) == (1, 1)
    assert not library.member_upvote(paper, ada).voted  # a toggle
    with pytest.raises(ValueError):
        library.upvote(paper, f"user:{ada.id}")  # no voter id may pose as a member
    assert library.rate(ada, paper, -1) == -1 and library.ratings(ada) == {paper: -1}
    with pytest.raises(KeyError):
        library.rate(ada, "2999.00000", 1)
    library.save(ada, paper, note="read")
    assert not any("vote" in problem for problem in library.check())
    assert library.remove_user("ada@example.org") and not library.remove_user("ada@example.org")
    assert library.user("ada@example.org") is None
    counted = library.get(paper)
    assert counted is not None and (counted.votes_anonymous, counted.votes_members) == (1, 0)


def test_export_holds_everything_and_nothing_secret(library: Library) -> None:
    ada = library.add_user("ada@example.org")
    papers = [p.id for p in sample_papers(20)]
    secret, _ = library.create_api_token(ada, "script")
    library.member_upvote(papers[0], ada)
    library.rate(ada, papers[1], 1)
    reading = library.create_collection(ada, "Reading <group>")
    library.save(ada, papers[2], collection_id=reading.id, note="for Tuesday")
    data = library.export_user_data(ada)
    assert data["account"]["email"] == "ada@example.org"
    assert [v["paper"] for v in data["upvotes"]] == [papers[0]]
    assert data["ratings"][0] == {"paper": papers[1], "value": 1,
                                  "at": data["ratings"][0]["at"]}
    assert data["collections"][0]["name"] == "Reading <group>"
    assert data["collections"][0]["papers"][0]["note"] == "for Tuesday"
    assert data["api_tokens"][0]["name"] == "script" and secret not in str(data)
