"""Alert explanations: the rule's parameters, the figures that decided it, a narrative.

`explain` turns what a rule computed (`figures`) into an `Explanation`: the figures made
JSON-safe (decimals as strings, dates in ISO form, sets sorted), the FX rates used added,
the rule's config as parameters, and a narrative in English and Chinese rendered from one
template per rule id (a rule without a template gets its summary). The result depends on
the facts only, never on the time of detection or on dict insertion order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from schemas import Explanation, Narrative

if TYPE_CHECKING:
    from monitor.core.fx import FxTable

__all__ = ["TEMPLATES", "explain", "fx_rates", "json_safe", "render"]

logger = logging.getLogger(__name__)

_CENT = Decimal("0.01")

#: rule id -> (English template, Chinese template); placeholders name figures, parameters
#: (top-level scalars and lists of the rule's config) or the words of `_words`
TEMPLATES: dict[str, tuple[str, str]] = {
    "LV_TRANSFER_INDIVIDUAL": (
        "{count} domestic {direction_en} transfer(s) of a natural person on {day} total "
        "{total} {currency}, {reaches_en} the large-value threshold of {threshold} {currency} "
        "(distance {distance} {currency}).",
        "{day} 自然人境内{direction_zh}转账 {count} 笔，合计 {total} {currency}，{reaches_zh}大额"
        "交易报告标准 {threshold} {currency}（差额 {distance} {currency}）。",
    ),
    "LV_CASH_CONDUCTOR": (
        "{count} cash {direction_en} transaction(s) conducted by one person for {customers} "
        "customers on {day} total {total} {currency}, {reaches_en} the threshold of {threshold} "
        "{currency} (distance {distance} {currency}).",
        "{day} 同一人为 {customers} 个客户办理现金{direction_zh}交易 {count} 笔，合计 {total} "
        "{currency}，{reaches_zh}报告标准 {threshold} {currency}（差额 {distance} {currency}）。",
    ),
    "SAR_STRUCTURING": (
        "{count} cash transaction(s) totalling {total} {currency} follow a structuring pattern "
        "below the currency transaction report threshold and aggregate at least "
        "{report_from} {report_from_currency}.",
        "{count} 笔现金交易合计 {total} {currency}，呈拆分交易规避大额报告特征，且达到可疑交易报告"
        "起点 {report_from} {report_from_currency}。",
    ),
    "FUNNEL_IN": (
        "{inflows} inflow(s) totalling {inflow_total} {currency} and {outflows} outflow(s) "
        "totalling {outflow_total} {currency} with {counterparties} distinct counterparties "
        "between {first} and {last}: funds from many payers leaving to one or few payees.",
        "{first} 至 {last} 期间转入 {inflows} 笔合计 {inflow_total} {currency}，转出 {outflows} 笔"
        "合计 {outflow_total} {currency}，涉及 {counterparties} 个不同交易对手，"
        "符合“分散转入、集中转出”特征。",
    ),
    "FUNNEL_OUT": (
        "{inflows} inflow(s) totalling {inflow_total} {currency} and {outflows} outflow(s) "
        "totalling {outflow_total} {currency} with {counterparties} distinct counterparties "
        "between {first} and {last}: funds from one or few payers leaving to many payees.",
        "{first} 至 {last} 期间转入 {inflows} 笔合计 {inflow_total} {currency}，转出 {outflows} 笔"
        "合计 {outflow_total} {currency}，涉及 {counterparties} 个不同交易对手，"
        "符合“集中转入、分散转出”特征。",
    ),
    "PASS_THROUGH": (
        "{inflows} inflow(s) totalling {inflow_total} {currency} and {outflows} outflow(s) "
        "totalling {outflow_total} {currency} with {counterparties} distinct counterparties "
        "between {first} and {last}: most of each inflow leaving again within hours.",
        "{first} 至 {last} 期间转入 {inflows} 笔合计 {inflow_total} {currency}，转出 {outflows} 笔"
        "合计 {outflow_total} {currency}，涉及 {counterparties} 个不同交易对手，"
        "符合“快进快出”特征。",
    ),
    "FREQUENT_SAME_COUNTERPARTY": (
        "{inflows} inflow(s) totalling {inflow_total} {currency} and {outflows} outflow(s) "
        "totalling {outflow_total} {currency} with {counterparties} distinct counterparties "
        "between {first} and {last}: the same parties paying each other often.",
        "{first} 至 {last} 期间转入 {inflows} 笔合计 {inflow_total} {currency}，转出 {outflows} 笔"
        "合计 {outflow_total} {currency}，涉及 {counterparties} 个不同交易对手，"
        "符合“短期内相同收付款人之间频繁发生资金收付”特征。",
    ),
    "DORMANT_REACTIVATION": (
        "{inflows} inflow(s) totalling {inflow_total} {currency} and {outflows} outflow(s) "
        "totalling {outflow_total} {currency} with {counterparties} distinct counterparties "
        "between {first} and {last}: a long-idle account suddenly moving large sums.",
        "{first} 至 {last} 期间转入 {inflows} 笔合计 {inflow_total} {currency}，转出 {outflows} 笔"
        "合计 {outflow_total} {currency}，涉及 {counterparties} 个不同交易对手，"
        "符合“长期闲置的账户突然启用”特征。",
    ),
    "COUNTERPARTY_HUB": (
        "{customers} customers of ours {side_en} one account ({hub_account}) in {count} "
        "transfers totalling {total} {currency} between {first} and {last} (at least "
        "{min_customers} within {window_days} days): a collecting or distributing account.",
        "{first} 至 {last} 期间 {customers} 个本行客户{side_zh}同一账户（{hub_account}）"
        "{count} 笔，合计 {total} {currency}（{window_days} 天内至少 {min_customers} 个客户），"
        "疑似资金归集或分发账户。",
    ),
    "FUNDS_CYCLE": (
        "{sent} {currency} left an account of customer {origin} on {first} and {returned} "
        "{currency} ({returned_pct}%) came back {hours} hours later through {hops} transfers "
        "among accounts of {members}: a round trip.",
        "{first} 客户 {origin} 账户转出 {sent} {currency}，经 {hops} 笔转账在 {hours} 小时后"
        "回流 {returned} {currency}（{returned_pct}%），涉及客户 {members}，资金循环往来。",
    ),
    "LV_CASH": (
        "{count} cash {direction_en} transaction(s) on {day} total {total} {currency}, "
        "{reaches_en} the large-value threshold of {threshold} {currency} "
        "(distance {distance} {currency}).",
        "{day} 现金{direction_zh}交易 {count} 笔，合计 {total} {currency}，{reaches_zh}大额交易"
        "报告标准 {threshold} {currency}（差额 {distance} {currency}）。",
    ),
    "LV_XBORDER_INDIVIDUAL": (
        "{count} cross-border {direction_en} transfer(s) of a natural person on {day} total "
        "{total} {currency}, {reaches_en} the large-value threshold of {threshold} {currency} "
        "(distance {distance} {currency}).",
        "{day} 自然人跨境{direction_zh}转账 {count} 笔，合计 {total} {currency}，{reaches_zh}大额"
        "交易报告标准 {threshold} {currency}（差额 {distance} {currency}）。",
    ),
    "LV_TRANSFER_ENTITY": (
        "{count} {direction_en} transfer(s) of an entity on {day} total {total} {currency}, "
        "{reaches_en} the large-value threshold of {threshold} {currency} "
        "(distance {distance} {currency}).",
        "{day} 非自然人{direction_zh}转账 {count} 笔，合计 {total} {currency}，{reaches_zh}大额"
        "交易报告标准 {threshold} {currency}（差额 {distance} {currency}）。",
    ),
    "CDD_ONE_OFF": (
        "One-off cash service of {amount} {currency} ({compared} {threshold_currency} against "
        "the threshold of {threshold} {threshold_currency}) without a complete identity "
        "record: {gaps}.",
        "一次性现金业务 {amount} {currency}（折合 {compared} {threshold_currency}，"
        "标准 {threshold} {threshold_currency}），身份资料不完整：{gaps}。",
    ),
    "CDD_AGENT": (
        "Cash of {amount} {currency} ({compared} {threshold_currency} against the threshold of "
        "{threshold} {threshold_currency}) conducted by an agent without verified "
        "identities: {gaps}.",
        "他人代办现金业务 {amount} {currency}（折合 {compared} {threshold_currency}，标准 "
        "{threshold} {threshold_currency}），身份未核实：{gaps}。",
    ),
    "REMIT_MISSING_INFO": (
        "{direction_en} cross-border remittance of {amount} {currency} (checked from "
        "{threshold} {threshold_currency}) lacks {missing_count} required field(s): {missing}.",
        "跨境{direction_zh}汇款 {amount} {currency}（检查起点 {threshold} {threshold_currency}）"
        "缺少 {missing_count} 项必要信息：{missing}。",
    ),
    "REMIT_INFO_UNRESOLVED": (
        "Remittance of {amount} {currency} still lacks {missing_count} required field(s) "
        "after the follow-up deadline {due} ({follow_up_working_days} working days, "
        "{supplement_count} supplement(s) received): {missing}.",
        "汇款 {amount} {currency} 在补充期限 {due}（{follow_up_working_days} 个工作日，已收到 "
        "{supplement_count} 次补充）后仍缺少 {missing_count} 项必要信息：{missing}。",
    ),
    "STRUCTURING": (
        "{count} cash transactions within {window_days} days, each between {lower_pct}% and "
        "{upper_pct}% of the threshold of {threshold} {threshold_currency} (at least "
        "{min_count} needed), total {total} {currency}.",
        "{window_days} 天内 {count} 笔现金交易，每笔在 {threshold} {threshold_currency} 标准的 "
        "{lower_pct}% 至 {upper_pct}% 之间（至少 {min_count} 笔即报告），合计 {total} "
        "{currency}。",
    ),
    "FREQUENT_LARGE_UNCLEAR_SOURCE": (
        "{count} transfers within {window_days} days, each from {threshold} "
        "{threshold_currency} (at least {min_count} needed), total {total} {currency}: "
        "{reason_en}.",
        "{window_days} 天内 {count} 笔转账，每笔不低于 {threshold} {threshold_currency}（至少 "
        "{min_count} 笔即报告），合计 {total} {currency}：{reason_zh}。",
    ),
    "KYC_INCOMPLETE": (
        "{missing_count} mandatory identity field(s) of the {customer_type} customer are "
        "missing: {missing}.",
        "{customer_type_zh}客户缺少 {missing_count} 项必填身份信息：{missing}。",
    ),
    "KYC_ID_EXPIRED": (
        "The identity document expired on {expired_on} and was still in use on {used_on} "
        "({days_expired} day(s) later).",
        "身份证件已于 {expired_on} 过期，{used_on} 仍在使用（过期 {days_expired} 天）。",
    ),
    "KYC_PEP": (
        "The {role} is a politically exposed person: enhanced due diligence is required.",
        "{role_zh}为政治公众人物，须采取强化尽职调查措施。",
    ),
    "KYC_HIGH_RISK_COUNTRY": (
        "{subject_en} tied to the high-risk jurisdiction(s) {countries} (configured list: "
        "{list_size} jurisdictions).",
        "{subject_zh}涉及高风险国家或地区 {countries}（名单共 {list_size} 个）。",
    ),
    "KYC_BENEFICIAL_OWNER": (
        "No identified natural person owns more than {ownership_above_pct}% of the entity "
        "({owners_declared} owner(s) declared, {owners_identified} identified above the "
        "share).",
        "未识别出持股超过 {ownership_above_pct}% 的自然人受益所有人（申报 {owners_declared} 人，"
        "其中超过该比例并已识别 {owners_identified} 人）。",
    ),
    "WATCHLIST_MATCH": (
        "The {role} name matches watch-list entry {entry_id} ({list_name}) with score {score} "
        "(match threshold {threshold}; {reasons}).",
        "{role_zh}名称与监控名单条目 {entry_id}（{list_name}）匹配，得分 {score}（匹配阈值 "
        "{threshold}；{reasons}）。",
    ),
}

_DIRECTION = {"in": ("inbound", "收入"), "out": ("outbound", "支出")}
_ROLE_ZH = {
    "customer": "客户",
    "beneficial owner": "受益所有人",
    "beneficial_owner": "受益所有人",
    "legal_representative": "法定代表人",
    "agent": "代理人",
    "conductor": "交易代办人",
    "counterparty": "交易对手",
}
_CUSTOMER_TYPE_ZH = {"individual": "个人", "entity": "单位"}
_REASON = {
    "unclear_source": ("the source of funds is unclear", "资金来源不明"),
    "income_share": ("the total is out of line with the declared income", "交易金额与申报收入不符"),
}
_SUBJECT = {
    "nationality": ("The customer's nationality is", "客户国籍"),
    "address_country": ("The customer's address country is", "客户地址所在国"),
    "remittance": ("The remittance is", "该笔汇款"),
}


def explain(
    rule_id: str,
    parameters: Mapping[str, Any],
    figures: Mapping[str, Any],
    summary: str,
    pack_version: str,
) -> Explanation:
    """The explanation of one alert of `rule_id`, whose config dumps to `parameters`."""
    safe = json_safe(dict(figures))
    params = dict(parameters)  # a config dumped in JSON mode: JSON-safe, in field order
    en, zh = render(rule_id, params, safe, summary)
    # built from JSON-safe values by construction: skip revalidating them (alerts are hot
    # when a large-value day grows with every transaction)
    return Explanation.model_construct(
        pack_version=pack_version,
        parameters=params,
        figures=safe,
        narrative=Narrative.model_construct(en=en, zh=zh),
    )


def render(
    rule_id: str, parameters: Mapping[str, Any], figures: Mapping[str, Any], summary: str
) -> tuple[str, str]:
    """(English, Chinese) narrative of `rule_id` from its template; the summary (with the
    rule id in Chinese) when there is no template or a figure it names is missing."""
    template = TEMPLATES.get(rule_id)
    if template is not None:
        values = {k: _text(v) for k, v in parameters.items() if not isinstance(v, dict)}
        values.update((k, _text(v)) for k, v in figures.items())
        values.update(_words(figures))
        try:
            en = template[0].format_map(values)
            return en[:1].upper() + en[1:], template[1].format_map(values)
        except (KeyError, IndexError, ValueError):
            logger.warning("rule %s: narrative template names a missing figure", rule_id)
    return summary, f"规则 {rule_id}：{summary}"


def fx_rates(fx: FxTable, currencies: Iterable[str], on: date) -> dict[str, str]:
    """`{"USD/CNY": "7.10", ...}`: the rates on `on` of every currency other than the FX
    table's base, sorted by currency."""
    return {
        f"{c}/{fx.base}": str(fx.rate(c, on))
        for c in sorted(set(currencies))
        if c != fx.base and fx.knows(c)
    }


def json_safe(value: Any) -> Any:
    """`value` with decimals as strings to the cent, dates and times in ISO form,
    tuples as lists, sets sorted, models dumped and mapping keys as strings in sorted order."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value.quantize(_CENT)) if value.is_finite() else str(value)
    if isinstance(value, float):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return json_safe(value.model_dump(mode="json"))
    if isinstance(value, Mapping):
        return {str(k): json_safe(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (set, frozenset)):
        return sorted(json_safe(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items())
    return "-" if value is None else str(value)


def _words(figures: Mapping[str, Any]) -> dict[str, str]:
    """The words a template needs besides the figures (directions, roles, reasons)."""
    words: dict[str, str] = {}
    direction = _DIRECTION.get(str(figures.get("direction")))
    if direction is not None:
        words["direction_en"], words["direction_zh"] = direction
    reached = figures.get("distance")
    exceeds = figures.get("inclusive") is False
    if reached is not None:
        words["reaches_en"] = "exceeding" if exceeds else "reaching"
        words["reaches_zh"] = "超过" if exceeds else "达到"
    role = str(figures.get("role", ""))
    words["role_zh"] = _ROLE_ZH.get(role, role)
    customer_type = str(figures.get("customer_type", ""))
    words["customer_type_zh"] = _CUSTOMER_TYPE_ZH.get(customer_type, customer_type)
    reason = _REASON.get(str(figures.get("reason")))
    if reason is not None:
        words["reason_en"], words["reason_zh"] = reason
    subject = _SUBJECT.get(str(figures.get("subject")))
    if subject is not None:
        words["subject_en"], words["subject_zh"] = subject
    return words
