"""Fault injection: throttling, server errors, slow answers, dropped and truncated responses.

Off by default. A fixed ``sequence`` is consumed one item per eligible request (exact,
reproducible scenarios for tests); once it is used up, per-request ``probabilities`` apply,
drawn from the injector's own seeded RNG so a run is repeatable. Only API requests of the
configured ``kinds`` are eligible, never ``/_sim/*``.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from typing import Any

ACTIONS = ("ok", "429", "500", "502", "503", "slow", "drop", "truncate")
KINDS = ("list", "record", "describe", "catalog")


class FaultConfigError(ValueError):
    pass


class FaultInjector:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.lock = threading.Lock()
        self.configure(config or {})

    def configure(self, config: dict[str, Any]) -> None:
        """Replace the whole configuration (an empty dict turns faults off)."""
        unknown = set(config) - {
            "sequence",
            "probabilities",
            "seed",
            "retry_after",
            "slow_seconds",
            "kinds",
        }
        if unknown:
            raise FaultConfigError(f"unknown fault settings: {sorted(unknown)}")
        seq = [str(a) for a in config.get("sequence") or []]
        probs = {str(k): float(v) for k, v in (config.get("probabilities") or {}).items()}
        kinds = list(config.get("kinds") or ["list"])
        bad = [a for a in [*seq, *probs] if a not in ACTIONS]
        bad += [k for k in kinds if k not in KINDS]
        if bad:
            raise FaultConfigError(f"unknown fault actions/kinds: {bad}")
        if sum(probs.values()) > 1.0 or any(p < 0 for p in probs.values()):
            raise FaultConfigError("probabilities must be >= 0 and sum to at most 1")
        with self.lock:
            self.config = {
                "sequence": seq,
                "probabilities": probs,
                "seed": int(config.get("seed", 0)),
                "retry_after": config.get("retry_after", 1),
                "slow_seconds": float(config.get("slow_seconds", 1.0)),
                "kinds": kinds,
            }
            self.sequence: deque[str] = deque(seq)
            self.rng = random.Random(self.config["seed"])

    @property
    def retry_after(self) -> Any:
        return self.config["retry_after"]

    @property
    def slow_seconds(self) -> float:
        return float(self.config["slow_seconds"])

    def decide(self, kind: str) -> str:
        """The action for the next request of this kind."""
        with self.lock:
            if kind not in self.config["kinds"]:
                return "ok"
            if self.sequence:
                return self.sequence.popleft()
            probs = self.config["probabilities"]
            if not probs:
                return "ok"
            x = self.rng.random()
            for action, p in probs.items():
                if x < p:
                    return action
                x -= p
            return "ok"

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {**self.config, "remaining_sequence": list(self.sequence)}
