"""How the identity profile is kept in a state record: present paths as a bit set, and
fingerprints of the watched fields without those of absent values."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

__all__ = [
    "NONE_FINGERPRINT",
    "PRESENCE_PATHS",
    "WATCHED_FIELDS",
    "present_paths",
    "set_present",
    "upgrade_profile",
]

logger = logging.getLogger(__name__)

#: identity values whose change raises a PROFILE_CHANGE task (PBoC/NFRA/CSRC Order 2025
#: No.11, re-identification: a change of name, identity document type or number, registered
#: capital, business scope, or legal representative or person in charge)
WATCHED_FIELDS = (
    "name",
    "id_document",
    "address",
    "occupation",
    "nationality",
    "beneficial_owners",
    "registration_number",
    "registered_capital",
    "business_scope",
    "legal_representative",
)

#: The fingerprint of an absent (null) value: the profile's `fp` holds no entry for it.
NONE_FINGERPRINT = hashlib.sha256(b"null").hexdigest()[:16]

#: Bit i of the profile's `pb` says that path i is present. Stored records depend on the
#: positions: append new paths at the end, never reorder or remove one. A present path
#: not listed is kept as a string in the profile's `px`.
PRESENCE_PATHS = (
    "event_id",
    "customer_id",
    "account_id",
    "opened_at",
    "customer_type",
    "name",
    "gender",
    "nationality",
    "occupation",
    "address",
    "phone",
    "id_document",
    "id_document.type",
    "id_document.number",
    "id_document.expires_on",
    "declared_annual_income",
    "income_currency",
    "is_pep",
    "registration_number",
    "business_scope",
    "registered_capital",
    "legal_representative",
    "legal_representative.name",
    "legal_representative.id_document",
    "legal_representative.id_document.type",
    "legal_representative.id_document.number",
    "legal_representative.id_document.expires_on",
    "beneficial_owners",
    "agent",
    "agent.name",
    "agent.id_document",
    "agent.id_document.type",
    "agent.id_document.number",
    "agent.id_document.expires_on",
    "branch_code",
    "address_country",
    "birth_date",
)
_BIT = {path: 1 << i for i, path in enumerate(PRESENCE_PATHS)}


@lru_cache(maxsize=4096)
def _paths_of(bits: int) -> frozenset[str]:
    return frozenset(path for path, bit in _BIT.items() if bits & bit)


def present_paths(profile: dict[str, Any]) -> frozenset[str]:
    """The identity paths present in `profile` (`pb` and `px`)."""
    paths = _paths_of(profile.get("pb", 0))
    extra = profile.get("px")
    return paths.union(extra) if extra else paths


def set_present(profile: dict[str, Any], paths: Iterable[str]) -> None:
    """Keep `paths` as the present identity paths of `profile`."""
    bits = 0
    extra = []
    for path in paths:
        bit = _BIT.get(path)
        if bit is None:
            extra.append(path)
        else:
            bits |= bit
    profile["pb"] = bits
    if extra:
        profile["px"] = sorted(extra)
    else:
        profile.pop("px", None)


def upgrade_profile(profile: dict[str, Any]) -> None:
    """Bring a profile written in the earlier layout (`present` as a list of paths, a
    fingerprint for every watched field, `opened_at` beside `t0`, null facts) to this one,
    in place, so it decides as before: a watched field that had no fingerprint at all gets
    "", which no value has (its first update raises PROFILE_CHANGE, as it did)."""
    for key in [k for k, v in profile.items() if v is None]:  # absent is null
        del profile[key]
    set_present(profile, profile.pop("present"))
    old = profile.get("fp") or {}
    fps = {k: v for k, v in old.items() if v != NONE_FINGERPRINT}
    for name in WATCHED_FIELDS:
        if name not in old:
            fps[name] = ""
    profile["fp"] = fps
    if "t0" in profile:  # the opening's event time, which `opened_at` spelt out
        profile.pop("opened_at", None)
