"""What a ``make chaos`` scenario is and what it reports: lines of the results table."""
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .chaos_client import ChaosClient
from .chaos_stack import ChaosStack


@dataclass
class Outcome:
    """One line of the results table."""

    scenario: str
    target: str
    measured: str
    met: bool


Scenario = Callable[[ChaosStack, ChaosClient], Awaitable[list[Outcome]]]
