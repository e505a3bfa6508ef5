"""Random draws of `monitor simulate`: Poisson counts and PRC resident identity numbers."""

from __future__ import annotations

import logging
import random
from datetime import date

__all__ = ["poisson", "resident_id"]

logger = logging.getLogger(__name__)

_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random, birth: date, male: bool) -> str:
    serial = rng.randrange(100)
    sex = rng.randrange(0, 10, 2) + (1 if male else 0)
    body = f"310101{birth:%Y%m%d}{serial:02d}{sex}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W, strict=True)) % 11]


def poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
