"""The customer's identity profile in state, and the identity checks rules share.

Openings and updates fold into presence flags, expiry dates, countries, PEP flags, facts of
a PRC resident identity number, the high-risk business category and fingerprints of identity
values: never names, numbers or the free text of a business scope or occupation."""

from __future__ import annotations

import hashlib
import logging
import operator
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from monitor.core.business import business_category, business_keywords
from monitor.core.profile_layout import (
    NONE_FINGERPRINT,
    WATCHED_FIELDS,
    present_paths,
    set_present,
)
from monitor.core.rules.base import Context, is_blank
from monitor.core.state import CustomerState
from schemas import AccountOpening, CustomerUpdate

if TYPE_CHECKING:
    from monitor.core.pack import Pack

__all__ = [
    "WATCHED_FIELDS",
    "beneficial_owner_identified",
    "digest_update",
    "fold_update",
    "identity_gaps",
    "identity_paths",
    "merge_profile",
    "model_paths",
    "present_paths",
    "resident_id_facts",
]

logger = logging.getLogger(__name__)

#: watched fields compared by value rather than by their JSON text
_NUMERIC_FIELDS = frozenset({"registered_capital"})
_RESIDENT_ID_TYPES = {"resident_id", "prc_id", "id_card", "居民身份证", "身份证"}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZERO_SUM = 48 * sum(_WEIGHTS)  # what the ASCII code of "0" adds to the weighted sum


def resident_id_facts(doc_type: str | None, number: str | None) -> dict[str, Any] | None:
    """Birth date, sex and checksum validity from an 18-character PRC resident identity
    number (GB 11643-1999); None for other documents."""
    if not doc_type or not number or doc_type.strip().lower() not in _RESIDENT_ID_TYPES:
        return None
    n = number.strip().upper()
    if len(n) != 18 or not n[:17].isdecimal() or not (n[17].isdecimal() or n[17] == "X"):
        return {"valid": False, "birth": None, "sex": None}
    # the weighted digit sum; ASCII digits straight from their bytes (code point - 48)
    digits = n[:17].encode() if n.isascii() else bytes(48 + int(c) for c in n[:17])
    check = _CHECK[(sum(map(operator.mul, digits, _WEIGHTS)) - _ZERO_SUM) % 11]
    try:
        birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14])).isoformat()
    except ValueError:
        birth = None
    return {
        "valid": check == n[17] and birth is not None,
        "birth": birth,
        "sex": "M" if int(n[16]) % 2 else "F",
    }


def identity_paths(data: dict[str, Any], prefix: str = "") -> dict[str, bool]:
    """Flatten an opening (or the changes of an update) into dotted paths -> present?"""
    flat: dict[str, bool] = {}
    _flatten(data, prefix, flat)
    return flat


def _flatten(data: dict[str, Any], prefix: str, flat: dict[str, bool]) -> None:
    for key, value in data.items():
        path = prefix + key
        kind = type(value)
        if kind is str:
            flat[path] = bool(value.strip())
        elif kind is dict:
            flat[path] = bool(value)
            _flatten(value, path + ".", flat)
        elif kind is list:
            flat[path] = bool(value)
        else:
            flat[path] = not is_blank(value)


def model_paths(model: BaseModel) -> dict[str, bool]:
    """`identity_paths` of a model's JSON form (`model_dump(mode="json")`), read from the
    model: a nested model is an object (present, and its fields below it), dates, numbers
    and booleans are never blank, strings are blank when only whitespace."""
    flat: dict[str, bool] = {}
    _model_flatten(model, "", flat)
    return flat


def _model_flatten(model: BaseModel, prefix: str, flat: dict[str, bool]) -> None:
    for key, value in model.__dict__.items():
        path = prefix + key
        kind = type(value)
        if kind is str:
            flat[path] = bool(value.strip())
        elif value is None:
            flat[path] = False
        elif isinstance(value, BaseModel):
            flat[path] = bool(value.__dict__)
            _model_flatten(value, path + ".", flat)
        elif kind is list:
            flat[path] = bool(value)
        elif kind is dict:
            flat[path] = bool(value)
            _flatten(to_jsonable_python(value), path + ".", flat)
        else:  # date, datetime, Decimal, int, bool: a non-empty JSON value
            flat[path] = True


def _json_form(value: Any) -> Any:
    """A field's value as its JSON dump has it (strings and None as they are)."""
    if value is None or type(value) is str:
        return value
    return to_jsonable_python(value)


def _fingerprint(value: Any) -> str:
    if value is None:  # most watched fields of most records
        return NONE_FINGERPRINT
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _watched_fingerprint(name: str, value: Any) -> str:
    """The fingerprint of watched field `name` in its JSON form; a number by its value, so
    `5000000` and `"5000000.00"` are the same registered capital."""
    if name in _NUMERIC_FIELDS and value is not None:
        value = format(Decimal(str(value)).normalize(), "f")
    return _fingerprint(value)


def _sex(gender: str | None) -> str | None:
    if not gender:
        return None
    g = gender.strip().lower()
    if g in {"m", "male", "男"}:
        return "M"
    if g in {"f", "female", "女"}:
        return "F"
    return None


def merge_profile(
    state: CustomerState, event: AccountOpening | CustomerUpdate, ctx: Context
) -> tuple[set[str], set[str], list[str]]:
    """Fold an opening or update into the profile. Returns (identity paths touched, watched
    fields whose value changed, contradictions with earlier identity data).

    The profile keeps presence flags, expiry dates, countries, PEP flags, derived birth
    date and sex, the high-risk business category matched in the business scope or
    occupation, and fingerprints (hashes) of identity values: never names, numbers or the
    text of the business scope or occupation. An update of a customer without a profile
    changes nothing (see `digest_update`)."""
    if isinstance(event, AccountOpening):
        # read from the model itself: the same paths and fingerprints as its JSON dump
        # (tests/unit/test_kyc.py compares them), without building that dump
        fields = event.__dict__
        paths = model_paths(event)
        profile = state.profile = {"type": event.customer_type, "t0": ctx.event_ms}
        _apply_facts(profile, _facts(fields, event, ctx.pack), ctx)
        set_present(profile, [p for p, ok in paths.items() if ok])
        fps = {f: _watched_fingerprint(f, _json_form(fields.get(f))) for f in WATCHED_FIELDS}
        profile["fp"] = {f: fp for f, fp in fps.items() if fp != NONE_FINGERPRINT}
        return set(paths), set(), list(profile.pop("_conflicts", []))
    if state.profile is None:
        return set(), set(), []
    return fold_update(state, digest_update(event, ctx.pack), ctx)


def digest_update(event: CustomerUpdate, pack: Pack) -> dict[str, Any]:
    """What folding `event` into a profile needs, as JSON values and without names or
    numbers: `paths` (identity path -> present), `facts` (per changed top-level field, what
    the profile keeps of it) and `fp` (fingerprints of the watched fields it changes).
    An update that arrives before the customer's opening is kept in this form."""
    changes = event.typed_changes
    data = changes.model_dump(mode="json", include=set(event.changes))
    fps = {name: _watched_fingerprint(name, data[name]) for name in WATCHED_FIELDS if name in data}
    return {"paths": identity_paths(data), "facts": _facts(data, changes, pack), "fp": fps}


def fold_update(
    state: CustomerState, digest: dict[str, Any], ctx: Context
) -> tuple[set[str], set[str], list[str]]:
    """Fold a digested update (`digest_update`) at `ctx.event_ms` into the existing profile,
    field by field: a top-level field whose last change (or the opening) is later in event
    time than this update keeps its value (the later writer wins whatever the arrival
    order). Returns what `merge_profile` returns, for the fields applied."""
    profile = state.profile
    if profile is None:
        return set(), set(), []
    paths: dict[str, bool] = digest["paths"]
    tops = [p for p in paths if "." not in p]
    times: dict[str, int] = profile.setdefault("ft", {})
    opened_ms: int = profile.get("t0", 0)
    stale = {top for top in tops if times.get(top, opened_ms) > ctx.event_ms}
    if stale:
        paths = {p: ok for p, ok in paths.items() if p.split(".", 1)[0] not in stale}
        tops = [top for top in tops if top not in stale]
    present = set(present_paths(profile))
    for top in tops:  # a changed field replaces the whole field, nested parts too
        present = {p for p in present if p != top and not p.startswith(f"{top}.")}
        times[top] = ctx.event_ms
    present.update(path for path, ok in paths.items() if ok)
    set_present(profile, present)
    facts = digest["facts"]
    _apply_facts(profile, {k: v for k, v in facts.items() if k not in stale}, ctx)
    changed = set()
    fps = profile.setdefault("fp", {})  # a field without one is absent (null)
    for name, fp in digest["fp"].items():
        if name not in stale and fps.get(name, NONE_FINGERPRINT) != fp:
            changed.add(name)
            if fp == NONE_FINGERPRINT:
                del fps[name]
            else:
                fps[name] = fp
    return set(paths), changed, list(profile.pop("_conflicts", []))


def _facts(data: dict[str, Any], model: Any, pack: Pack) -> dict[str, Any]:
    """What the profile keeps of the fields in `data` (an opening's fields or an update's
    changes), read from `model`, keyed by field: no names or numbers."""
    facts: dict[str, Any] = {}
    if data.get("customer_type"):
        facts["customer_type"] = data["customer_type"]
    if "id_document" in data:
        doc = model.id_document
        facts["id_document"] = (
            doc.expires_on.isoformat() if doc and doc.expires_on else None,
            resident_id_facts(doc.type, doc.number) if doc else None,
        )
    if "legal_representative" in data:
        rep = model.legal_representative
        doc = rep.id_document if rep else None
        facts["legal_representative"] = (
            doc.expires_on.isoformat() if doc and doc.expires_on else None
        )
    if "gender" in data:
        facts["gender"] = _sex(model.gender)
    if "birth_date" in data and model.birth_date:
        facts["birth_date"] = model.birth_date.isoformat()
    if "is_pep" in data:
        facts["is_pep"] = bool(model.is_pep)
    if "nationality" in data:
        facts["nationality"] = (model.nationality or "").upper() or None
    if "address_country" in data:
        facts["address_country"] = (model.address_country or "").upper() or None
    keywords = business_keywords(pack)
    for business_field in ("occupation", "business_scope"):
        if business_field in data:  # the matched high-risk category, never the text
            facts[business_field] = business_category(getattr(model, business_field), keywords)
    if "declared_annual_income" in data:
        income = model.declared_annual_income
        facts["declared_annual_income"] = (
            None if income is None else (str(income), model.income_currency or None)
        )
    if "beneficial_owners" in data:
        owners = model.beneficial_owners or []
        facts["beneficial_owners"] = (
            any(o.is_pep for o in owners),
            [
                {
                    "pct": str(o.ownership_pct) if o.ownership_pct is not None else None,
                    "identified": not is_blank(o.name)
                    and o.id_document is not None
                    and not is_blank(o.id_document.number),
                }
                for o in owners
            ][:50],
        )
    return facts


def _apply_facts(profile: dict[str, Any], facts: dict[str, Any], ctx: Context) -> None:
    """Copy `facts` (`_facts`) into the profile."""
    if "customer_type" in facts:
        profile["type"] = facts["customer_type"]
    is_entity = profile.get("type") == "entity"
    if not is_entity and "id_document" in facts:
        profile["id_exp"], id_facts = facts["id_document"]
        _identity_facts(profile, id_facts)
    if is_entity and "legal_representative" in facts:
        profile["id_exp"] = facts["legal_representative"]
    if "gender" in facts:
        sex = facts["gender"]
        if sex and profile.get("id_sex") and sex != profile["id_sex"]:
            profile.setdefault("_conflicts", []).append("gender contradicts the identity number")
        profile["sex"] = sex
    if "birth_date" in facts:
        birth = facts["birth_date"]
        if profile.get("id_birth") and birth != profile["id_birth"]:
            profile.setdefault("_conflicts", []).append(
                "birth date contradicts the identity number"
            )
        profile["birth"] = birth
    for name, key in (
        ("is_pep", "pep"),
        ("nationality", "nationality"),
        ("address_country", "address_country"),
    ):
        if name in facts:
            profile[key] = facts[name]
    profile.pop("occupation", None)  # records saved before kept the text: never again
    business_field = "business_scope" if is_entity else "occupation"
    if business_field in facts:  # the matched high-risk category, never the text
        if facts[business_field]:
            profile["business"] = facts[business_field]
        else:
            profile.pop("business", None)
    if "declared_annual_income" in facts:
        income = facts["declared_annual_income"]
        if income is None:
            profile["income"] = None
        else:
            # at the rate of the bank's local day of this event (the opening or the update)
            base = ctx.pack.fx.base
            profile["income"] = str(
                ctx.pack.fx.convert(Decimal(income[0]), income[1] or base, base, ctx.day)
            )
    if "beneficial_owners" in facts:
        profile["bo_pep"], profile["bo"] = facts["beneficial_owners"]
    for key in [k for k, v in profile.items() if v is None]:  # absent is null: not stored
        del profile[key]


def _identity_facts(profile: dict[str, Any], facts: dict[str, Any] | None) -> None:
    if facts is None:
        profile.pop("id_valid", None)
        return
    profile["id_valid"] = facts["valid"]
    earlier = profile.get("id_birth")
    if facts["birth"] and earlier and facts["birth"] != earlier:
        profile.setdefault("_conflicts", []).append(
            "the new identity number carries another birth date"
        )
    if facts["birth"]:
        profile["id_birth"] = facts["birth"]
    if facts["sex"] and profile.get("sex") and facts["sex"] != profile["sex"]:
        profile.setdefault("_conflicts", []).append("the identity number carries another sex")
    profile["id_sex"] = facts["sex"]


def identity_gaps(state: CustomerState, on: date, mandatory: dict[str, list[str]]) -> list[str]:
    """Why the customer's identity record is not complete and valid on `on` (empty: it is)."""
    profile = state.profile
    if profile is None:
        return ["no identity record"]
    required = mandatory.get(profile["type"], [])
    present = present_paths(profile)
    gaps = [f"missing {p}" for p in required if p not in present]
    expiry = profile.get("id_exp")
    if expiry and date.fromisoformat(expiry) < on:
        gaps.append("identity document expired")
    if profile.get("id_valid") is False:
        gaps.append("identity number fails its check digit")
    return gaps


def beneficial_owner_identified(
    profile: dict[str, Any], above_pct: Decimal, inclusive: bool = False
) -> bool:
    """Whether an identified owner holds more than `above_pct` (with `inclusive`: at least
    `above_pct`, the US "25 percent or more")."""
    return any(
        o["identified"]
        and o["pct"] is not None
        and (Decimal(o["pct"]) >= above_pct if inclusive else Decimal(o["pct"]) > above_pct)
        for o in profile.get("bo") or []
    )
