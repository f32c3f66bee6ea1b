"""The monthly cost estimate of a project's private endpoints."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.domain.states import EndpointStatus

HOURS_PER_MONTH = 730
DEFAULT_HOURLY_RATE = Decimal("0.01")
DATA_PROCESSED_RATE = Decimal("0.01")
BILLABLE_STATUSES = frozenset({EndpointStatus.PENDING, EndpointStatus.ACTIVE})


@dataclass(frozen=True, slots=True)
class BillingEstimate:
    endpoints: int
    endpoint_azs: int  # sum over endpoints of their Availability Zones
    hourly_rate: Decimal  # USD per endpoint per AZ per hour
    monthly_usd: Decimal
    data_processed_rate: Decimal  # USD per GB, billed on top by usage

    @property
    def note(self) -> str:
        """What the estimate leaves out."""
        return f"Plus data processed at USD {self.data_processed_rate} per GB, billed by usage."


def estimate(
    az_counts: Iterable[int], *, hourly_rate: Decimal = DEFAULT_HOURLY_RATE
) -> BillingEstimate:
    """Endpoints × AZs × hourly rate over a 730-hour month; `az_counts` has one entry each."""
    counts = list(az_counts)
    if any(count < 1 for count in counts):
        raise ValueError("every endpoint spans at least one Availability Zone")
    if hourly_rate < 0:
        raise ValueError("the hourly rate cannot be negative")
    endpoint_azs = sum(counts)
    monthly = (endpoint_azs * hourly_rate * HOURS_PER_MONTH).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return BillingEstimate(
        endpoints=len(counts),
        endpoint_azs=endpoint_azs,
        hourly_rate=hourly_rate,
        monthly_usd=monthly,
        data_processed_rate=DATA_PROCESSED_RATE,
    )
