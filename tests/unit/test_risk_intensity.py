"""Risk-based intensity (PBoC 2013 guideline on customer risk rating; the seed's 第四条(一):
for high-risk customers, strengthen the monitoring of their transactions; Order 2025 No.11:
enhanced ongoing monitoring of politically exposed persons) and the high-risk lines of
business in the rating (the seed's 珠宝店, 贵金属经销商, 现金集中行业, and casinos, money
services). Large-value thresholds (PBoC Order 2016 No.3) are legal reporting thresholds and
are never scaled."""

from __future__ import annotations

from decimal import Decimal

import pytest

from monitor.core.errors import ConfigurationError

from .conftest import (
    cash,
    entity_opening_data,
    individual_opening_data,
    make_engine,
    make_pack,
    opening,
    remittance,
    run,
    update,
)

HIGH_NOTE = "[high-risk customer: amounts x0.8, counts x0.7]"


def _person(customer_id: str, **fields):
    data = individual_opening_data(customer_id=customer_id, at="2026-03-02T09:00:00+08:00")
    data.update(fields)
    return opening(data)


def _pep(customer_id: str = "HR1"):
    return _person(customer_id, is_pep=True)


def _cash(customer_id: str, amount: str, day: int, **kw):
    return cash(amount, customer_id=customer_id, at=f"2026-03-{day:02d}T10:00:00+08:00", **kw)


# =========================================================================== validation


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"risk.intensity.high.amount_factor": "1.2"}, "risk.intensity.high.amount_factor"),
        ({"risk.intensity.high.count_factor": "0"}, "risk.intensity.high.count_factor"),
        ({"risk.intensity.medium.amount_factor": "-1"}, "risk.intensity.medium.amount_factor"),
        ({"risk.intensity.extreme": {"amount_factor": "0.5"}}, "risk.intensity.extreme"),
        ({"risk.intensity.low.factor": "0.5"}, "risk.intensity.low.factor"),
        ({"risk.high_risk_business.casino": []}, "risk.high_risk_business"),
        ({"risk.high_risk_business": {"bad name": ["x"]}}, "risk.high_risk_business"),
    ],
)
def test_bad_intensity_or_business_settings_are_refused_naming_the_field(override, where):
    with pytest.raises(ConfigurationError, match=where.replace(".", r"\.")):
        make_pack(override)


def test_a_higher_rating_may_not_be_monitored_less_closely():
    with pytest.raises(ConfigurationError, match=r"intensity\.high\.amount_factor \(0\.9\)"):
        make_pack(
            {
                "risk.intensity.medium": {"amount_factor": "0.8"},
                "risk.intensity.high": {"amount_factor": "0.9"},
            }
        )


def test_the_default_factors_are_stricter_for_high_only():
    levels = make_pack().config.risk.intensity
    assert (levels.low.amount_factor, levels.low.count_factor) == (1, 1)
    assert (levels.medium.amount_factor, levels.medium.count_factor) == (1, 1)
    assert (levels.high.amount_factor, levels.high.count_factor) == (
        Decimal("0.8"),
        Decimal("0.7"),
    )


# =========================================================================== business


@pytest.mark.parametrize(
    ("scope", "category"),
    [
        ("黄金珠宝首饰零售", "jewellery"),
        ("贵金属经销", "precious_metals"),
        ("Retail of Fine JEWELLERY and watches", "jewellery"),
        ("ＣＡＳＩＮＯ operations", "casino"),  # full-width letters
        ("currency exchange and money transfer", "money_services"),
        ("中餐饭店经营", "cash_intensive"),
        ("wholesale of electronic components", None),
    ],
)
def test_an_entitys_business_scope_gives_its_high_risk_category(engine, scope, category):
    data = entity_opening_data(customer_id="B1")
    data["business_scope"] = scope
    state = run(engine, [opening(data)]).states["B1"]
    assert state.profile.get("business") == category
    assert (state.risk["rating"] == "high") == (category is not None)
    assert ("high_risk_business" in state.risk["factors"]) == (category is not None)


def test_the_state_keeps_the_category_never_the_text(engine):
    data = entity_opening_data(customer_id="B2")
    data["business_scope"] = "retail of gold jewellery and bullion"
    raw = run(engine, [opening(data)]).states["B2"].to_bytes().decode()
    assert "jewellery" in raw  # the category
    assert "gold" not in raw and "bullion" not in raw and "retail" not in raw


def test_an_individuals_occupation_is_the_high_risk_occupation_factor(engine):
    state = run(engine, [_person("B3", occupation="Casino croupier")]).states["B3"]
    assert state.profile["business"] == "casino"
    assert state.risk["factors"] == ["high_risk_occupation"]
    assert state.risk["rating"] == "medium"  # weight 30
    assert "occupation" not in state.profile  # the text is not kept


def test_an_update_of_the_business_scope_re_rates_the_entity(engine):
    upd = update(
        {"business_scope": "贵金属经销商"}, customer_id="B4", at="2026-03-09T10:00:00+08:00"
    )
    result = run(engine, [opening(entity_opening_data(customer_id="B4")), upd])
    state = result.states["B4"]
    assert state.risk["rating"] == "high"
    assert state.risk["next_review"] == "2026-09-09"  # brought forward to 6 months
    assert [t.trigger for t in result.tasks] == ["PROFILE_CHANGE"]
    assert result.tasks[0].risk_rating == "high"


def test_an_update_to_an_ordinary_business_removes_the_category(engine):
    data = entity_opening_data(customer_id="B5")
    data["business_scope"] = "jewellery retail"
    upd = update({"business_scope": "software development"}, customer_id="B5")
    state = run(engine, [opening(data), upd]).states["B5"]
    assert "business" not in state.profile
    assert "high_risk_business" not in state.risk["factors"]


def test_the_keywords_are_the_packs():
    engine = make_engine({"risk.high_risk_business": {"pawn": ["典当", "pawn"]}})
    data = entity_opening_data(customer_id="B6")
    data["business_scope"] = "Pawnbroking"
    assert run(engine, [opening(data)]).states["B6"].profile["business"] == "pawn"


# =========================================================================== STRUCTURING


def test_structuring_band_and_count_are_stricter_for_a_pep(engine):
    events = [_pep(), _cash("HR1", "40000", 3), _cash("HR1", "36000", 4)]
    (alert,) = run(engine, events).by_rule("STRUCTURING")
    assert alert.summary == (
        "2 cash transactions within 7 days each between 72% and 100% of the 50,000.00 CNY "
        f"threshold (total 76,000.00 CNY) {HIGH_NOTE}"
    )


def test_the_same_cash_of_a_low_risk_customer_is_not_structuring(engine):
    events = [_person("LR1"), _cash("LR1", "40000", 3), _cash("LR1", "36000", 4)]
    assert run(engine, events).by_rule("STRUCTURING") == []


def test_below_the_scaled_band_is_not_counted(engine):
    events = [_pep(), _cash("HR1", "40000", 3), _cash("HR1", "35999.99", 4)]
    assert run(engine, events).by_rule("STRUCTURING") == []


def test_large_value_threshold_is_never_scaled_for_a_high_risk_customer(engine):
    # PBoC Order 2016 No.3: RMB 50,000 is the legal reporting threshold for every customer
    below = run(engine, [_pep(), _cash("HR1", "49999.99", 3)])
    assert below.by_rule("LV_CASH") == []
    at = run(make_engine(), [_pep(), _cash("HR1", "50000", 3)])
    assert len(at.by_rule("LV_CASH")) == 1
    assert at.by_rule("STRUCTURING") == []  # 100 % stays outside the band


def test_the_rating_in_force_when_the_cash_happens_decides(engine):
    # rated low at the first deposit (36,000 is outside the 90 % band then), high from the
    # update on: only the later deposits are judged against the wider band
    events = [
        _person("RC1"),
        _cash("RC1", "36000", 3),
        update({"is_pep": True}, customer_id="RC1", at="2026-03-03T12:00:00+08:00"),
        _cash("RC1", "37000", 4),
    ]
    assert run(engine, events).by_rule("STRUCTURING") == []
    again = run(make_engine(), [*events, _cash("RC1", "38000", 5)])
    (alert,) = again.by_rule("STRUCTURING")
    assert alert.amount == Decimal("75000.00")


def test_us_bsa_structuring_keeps_at_least_two_transactions():
    engine = make_engine(file="us-bsa.yaml")
    events = [_pep("US1"), cash("9000", currency="USD", customer_id="US1")]
    assert run(engine, events).by_rule("STRUCTURING") == []


# =========================================================================== FREQUENT_LARGE


def test_frequent_large_amount_and_count_are_stricter_for_a_pep(engine):
    events = [
        _pep(),
        remittance(
            "40000", customer_id="HR1", source_of_funds="unknown", at="2026-03-03T10:00:00+08:00"
        ),
        remittance(
            "40000", customer_id="HR1", source_of_funds=None, at="2026-03-04T10:00:00+08:00"
        ),
    ]
    (alert,) = run(engine, events).by_rule("FREQUENT_LARGE_UNCLEAR_SOURCE")
    assert alert.summary == (
        "2 large transfers within 7 days totalling 80,000.00 CNY: source of funds unclear "
        + HIGH_NOTE
    )


def test_the_same_transfers_of_a_low_risk_customer_raise_nothing(engine):
    events = [
        _person("LR2"),
        remittance(
            "40000", customer_id="LR2", source_of_funds="unknown", at="2026-03-03T10:00:00+08:00"
        ),
        remittance(
            "40000", customer_id="LR2", source_of_funds=None, at="2026-03-04T10:00:00+08:00"
        ),
    ]
    assert run(engine, events).by_rule("FREQUENT_LARGE_UNCLEAR_SOURCE") == []


def test_the_income_share_is_scaled_for_a_pep(engine):
    # declared CNY 300,000: 40 % is 120,000 for a high-risk customer (50 % = 150,000 else)
    events = [
        _pep(),
        remittance("61000", customer_id="HR1", at="2026-03-03T10:00:00+08:00"),
        remittance("61000", customer_id="HR1", at="2026-03-04T10:00:00+08:00"),
    ]
    (alert,) = run(engine, events).by_rule("FREQUENT_LARGE_UNCLEAR_SOURCE")
    assert "total above 40% of the declared annual income" in alert.summary


# =========================================================================== pack settings


def test_neutral_high_factors_give_a_pep_the_ordinary_thresholds():
    engine = make_engine({"risk.intensity.high": {"amount_factor": "1", "count_factor": "1"}})
    events = [_pep(), _cash("HR1", "40000", 3), _cash("HR1", "36000", 4)]
    assert run(engine, events).by_rule("STRUCTURING") == []


def test_no_scaling_while_the_risk_rating_is_off():
    engine = make_engine({"risk.enabled": False})
    events = [_pep(), _cash("HR1", "40000", 3), _cash("HR1", "36000", 4)]
    assert run(engine, events).by_rule("STRUCTURING") == []


def test_medium_factors_apply_to_a_medium_risk_customer():
    engine = make_engine({"risk.intensity.medium": {"amount_factor": "0.9"}})
    events = [
        _person("MR1", occupation="casino dealer"),  # medium (30)
        _cash("MR1", "40500", 3),
        _cash("MR1", "41000", 4),
        _cash("MR1", "42000", 5),
    ]
    (alert,) = run(engine, events).by_rule("STRUCTURING")
    assert "between 81% and 100%" in alert.summary
    assert alert.summary.endswith("[medium-risk customer: amounts x0.9, counts x1]")


@pytest.mark.parametrize(
    ("count", "factor", "least", "expected"),
    [(3, "0.7", 2, 2), (5, "0.7", 2, 4), (3, "0.5", 2, 2), (2, "0.5", 2, 2), (3, "0.1", 1, 1)],
)
def test_counts_are_scaled_rounding_half_up_never_below_the_rules_minimum(
    count, factor, least, expected
):
    from monitor.core.risk import Intensity

    assert Intensity(count_factor=Decimal(factor)).count(count, least=least) == expected
