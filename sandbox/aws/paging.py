"""`MaxResults` / `NextToken` pages and `Filters` as EC2's describe calls apply them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from moto.ec2.exceptions import InvalidFilter, InvalidNextToken, InvalidParameterValue

T = TypeVar("T")

MIN_RESULTS = 5
MAX_RESULTS = 1000


def page_size(max_results: int | None) -> int:
    """The page size AWS uses: 5 to 1,000 (larger values give 1,000); default 1,000."""
    if max_results is None:
        return MAX_RESULTS
    if max_results < MIN_RESULTS:
        raise InvalidParameterValue(
            f"Value ( {max_results} ) for parameter maxResults is invalid. "
            f"Expecting a value greater than {MIN_RESULTS}."
        )
    return min(max_results, MAX_RESULTS)


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidNextToken(token) from None


def paginate(
    items: Sequence[T],
    *,
    key: Callable[[T], str],
    max_results: int | None,
    next_token: str | None,
) -> tuple[list[T], str | None]:
    """One page of `items` in `key` order, and the token of the next page (None at the end)."""
    size = page_size(max_results)
    ordered = sorted(items, key=key)
    if next_token:
        after = _decode(next_token)
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:size]
    token = _encode(key(page[-1])) if len(ordered) > size else None
    return page, token


def apply_filters(
    items: Sequence[T],
    *,
    filters: Mapping[str, Sequence[str]],
    fields: Mapping[str, Callable[[T], Any]],
    tags: Callable[[T], Mapping[str, str]] | None = None,
) -> list[T]:
    """Items matching every filter; a filter matches if the item's value is any of its values.

    `fields` names the supported filters; with `tags`, `tag:<key>` and `tag-key` work too.
    """
    checks: list[Callable[[T], bool]] = []
    for name, values in filters.items():
        wanted = set(values)
        if name in fields:
            checks.append(_matcher(fields[name], wanted))
        elif tags is not None and name.startswith("tag:"):
            checks.append(_tag_matcher(tags, name[4:], wanted))
        elif tags is not None and name == "tag-key":
            checks.append(_tag_key_matcher(tags, wanted))
        else:
            raise InvalidFilter(name)
    return [item for item in items if all(check(item) for check in checks)]


def _matcher(field: Callable[[T], Any], wanted: set[str]) -> Callable[[T], bool]:
    return lambda item: str(field(item)) in wanted


def _tag_key_matcher(
    tags: Callable[[T], Mapping[str, str]], wanted: set[str]
) -> Callable[[T], bool]:
    return lambda item: bool(wanted & set(tags(item)))


def _tag_matcher(
    tags: Callable[[T], Mapping[str, str]], tag_key: str, wanted: set[str]
) -> Callable[[T], bool]:
    return lambda item: tags(item).get(tag_key) in wanted
