"""TokenPaginator and Link-header helpers."""

from __future__ import annotations

import httpx
import pytest

from okrbridge.connector import PaginationError, TokenPaginator, next_link


def test_walks_tokens_until_the_last_page() -> None:
    pages = TokenPaginator()
    served = []
    responses = iter([("t1", False), ("t2", False), (None, True)])
    while pages.has_more:
        served.append(pages.next_token)
        pages.advance(*next(responses))
    assert served == [None, "t1", "t2"]
    assert pages.pages == 3
    assert pages.next_token is None


def test_is_last_wins_over_a_token() -> None:
    """Jira's search/jql may send a token with isLast=true: stop anyway."""
    pages = TokenPaginator()
    pages.advance("t1", is_last=True)
    assert not pages.has_more


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_ends_the_listing(token: str | None) -> None:
    pages = TokenPaginator()
    pages.advance(token)
    assert not pages.has_more


def test_repeated_token_is_refused() -> None:
    pages = TokenPaginator(instance="jira-main")
    pages.advance("a")
    pages.advance("b")
    with pytest.raises(PaginationError) as caught:
        pages.advance("a")
    assert caught.value.instance == "jira-main"
    assert "twice" in str(caught.value)


def test_resuming_token_counts_as_seen() -> None:
    pages = TokenPaginator("resume")
    assert pages.next_token == "resume"
    with pytest.raises(PaginationError):
        pages.advance("resume")


def test_github_link_header() -> None:
    value = (
        '<https://api.github.com/repositories/1/issues?page=2&labels=a,b>; rel="next", '
        '<https://api.github.com/repositories/1/issues?page=5&labels=a,b>; rel="last"'
    )
    response = httpx.Response(200, headers={"Link": value})
    assert next_link(response) == "https://api.github.com/repositories/1/issues?page=2&labels=a,b"


def test_no_next_on_the_last_page() -> None:
    last = httpx.Response(200, headers={"link": '<https://x/?page=1>; rel="first"'})
    assert next_link(last) is None
    assert next_link(httpx.Response(200)) is None
    assert next_link(httpx.Response(200, headers={"link": ""})) is None
