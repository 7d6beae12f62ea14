"""The circuit breaker of one platform's deliveries.

When the platform keeps failing (many sends in a row end in a 5xx, a timeout or a network
error), or refuses the bot's token (401), sending on would only spend the rows' retries and
hammer a platform that is down. The breaker pauses the dispatcher instead: it says so once in
the log, lets one row through now and then as a probe (doubling the pause up to a cap), and
closes at the first answer from the platform. Rows waiting meanwhile lose nothing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

log = logging.getLogger("habitbot.dispatcher")


class Breaker:
    def __init__(
        self,
        platform: str,
        *,
        threshold: int = 10,
        probe_after: float = 5.0,
        probe_cap: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.platform = platform
        self.threshold = threshold  # transient failures in a row that pause the platform
        self.probe_after, self.probe_cap = probe_after, probe_cap
        self.now = monotonic
        self.failures = 0
        self.paused_at: float | None = None
        self._pause = probe_after
        self._next_probe = -math.inf
        self.pauses = 0  # how many times it opened (tests, stats)

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def probe_wait(self) -> float:
        """Seconds until the next probe may go out (0 when not paused)."""
        return max(0.0, self._next_probe - self.now()) if self.paused else 0.0

    def probing(self) -> None:
        """A probe is going out: the next one waits longer, unless this one succeeds."""
        self._pause = min(self.probe_cap, self._pause * 2)
        self._next_probe = self.now() + self._pause

    def answered(self) -> None:
        """The platform answered (sent, rate limited, or refused one chat): it is up."""
        self.failures = 0
        if self.paused_at is not None:
            log.info(
                "%s answers again: deliveries resume after %.0f s paused",
                self.platform, self.now() - self.paused_at,
            )
            self.paused_at = None
            self._pause = self.probe_after

    def failed(self, reason: str) -> None:
        """A transient failure (5xx, timeout, network)."""
        self.failures += 1
        if not self.paused and self.failures >= self.threshold:
            log.warning(
                "%s: %d sends in a row failed (last: %s); deliveries paused, probing",
                self.platform, self.failures, reason,
            )
            self._open()

    def refused(self, reason: str) -> None:
        """The platform refused the bot's credentials: nothing can be sent until an operator
        fixes the token (or the platform recovers from a glitch, which the probes notice)."""
        if not self.paused:
            log.error(
                "%s refused the bot token (%s); deliveries paused, probing. Check the token.",
                self.platform, reason,
            )
            self._open()

    def _open(self) -> None:
        self.paused_at = self.now()
        self.pauses += 1
        self._pause = self.probe_after
        self._next_probe = self.now() + self._pause
