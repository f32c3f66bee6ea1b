"""One region's AWS calls, guarded: whatever a boto3 call raises leaves as `AwsError`, and
within one reconcile pass a region that proved unreachable is not called again.

Shared by every gateway of a region (EC2's endpoint services, ELB's target health), so one
pass learns once that a region cannot be reached, whichever service found out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from bot.aws.errors import AWS_FAILURES, UNREACHABLE_KINDS, RegionUnreachable, aws_error, error_kind
from bot.domain.errors import AwsError


class RegionCalls:
    """The guard around every AWS call in `region`."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._one_pass = False
        self._unreachable: AwsError | None = None

    def for_pass(self) -> Self:
        """A guard for one reconcile pass: once AWS in the region could not be reached (a
        connection failure or a timeout), later calls raise `RegionUnreachable` at once
        instead of waiting on the network again."""
        guard = copy.copy(self)
        guard._one_pass = True
        guard._unreachable = None
        return guard

    @contextmanager
    def call(self) -> Iterator[None]:
        """One AWS call: whatever it raises leaves as `AwsError` (or, in a pass's guard after
        the region proved unreachable, `RegionUnreachable` without calling)."""
        if self._unreachable is not None:
            raise RegionUnreachable(region=self.region, cause=self._unreachable)
        try:
            yield
        except AWS_FAILURES as raised:
            error = aws_error(raised, region=self.region)
            if self._one_pass and error_kind(code=error.code) in UNREACHABLE_KINDS:
                self._unreachable = error
            raise error from raised
