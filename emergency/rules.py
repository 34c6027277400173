"""Warning rules (docs/RULES.md): the warning decision of a forecast under a rule set.

The rule-set models and loaders live in :mod:`emergency.ruleset` and are re-exported here,
so ``from emergency.rules import assess, load_rule_set`` is the one import callers need.

Steps: the AQI of each day (a value; the rule set's end of a range; or the AQI of the
concentrations) → episodes (runs of days meeting the episode bound, merged across short
clean gaps) → the most severe level whose trigger an episode meets → the regional order
as a floor → the decision with its period, reason and per-day levels.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from emergency.aqi import category_of, daily_aqi
from emergency.errors import InputError
from emergency.forecast import Forecast, ForecastDay
from emergency.names import label
from emergency.ruleset import (
    LEVEL_RANK,
    RuleSet,
    Threshold,
    Trigger,
    choose_rule_set,
    city_standard,
    list_rule_sets,
    load_rule_set,
    parse_rule_set,
)
from emergency.settings import CITY_OFFSET
from emergency.solution import EpisodeView, WarningDay, WarningDecision

__all__ = [
    "LEVEL_RANK",
    "Episode",
    "RuleSet",
    "assess",
    "choose_rule_set",
    "city_standard",
    "day_values",
    "explain",
    "find_episodes",
    "held_until_release",
    "list_rule_sets",
    "load_rule_set",
    "parse_rule_set",
    "release_ok",
]

AQI_TOP = 500
"""Top of the AQI scale: a higher value is off the scale (爆表) and reported as 500."""


@dataclass(frozen=True)
class Episode:
    """Days ``first..last`` (indices into the forecast) and what they reached."""

    first: int
    last: int
    level: str | None
    why: str | None
    advisory_why: str | None
    why_zh: str | None = None
    advisory_why_zh: str | None = None


def _standard(forecast: Forecast, standard: str | None) -> str | None:
    """The forecast's named standard, else the caller's; ``by-date`` means none named."""
    for named in (forecast.standard, standard):
        if named is not None and named != "by-date":
            return named
    return None


def _day_aqi(day: ForecastDay, rule_set: RuleSet) -> int:
    low, high = day.aqi_range or (0.0, 0.0)
    value = {"upper": high, "lower": low, "mid": (low + high) / 2}[rule_set.range_end]
    # The AQI is an integer rounded up (HJ 633); for integer bounds this changes no decision.
    return math.ceil(value)


def day_values(
    forecast: Forecast, rule_set: RuleSet, standard: str | None = None
) -> list[WarningDay]:
    """The AQI the rule set reads on each forecast day, with its category.

    Parameters
    ----------
    forecast : the forecast.
    rule_set : decides which end of an AQI range counts.
    standard : AQI standard for concentrations when the forecast names none (e.g. the city
        plan's); None or ``by-date``: the standard in force on each day.
    """
    named = _standard(forecast, standard)
    out: list[WarningDay] = []
    for i, day in enumerate(forecast.days):
        primary = list(day.primary)
        aqi_range = None
        if day.concentrations is not None:
            try:
                result = daily_aqi(day.concentrations.values(), standard=named, date=day.date)
            except InputError as exc:
                raise InputError(f"{forecast.source}: days[{i}].concentrations: {exc}") from None
            aqi, off_scale = result.aqi, result.off_scale
            primary = primary or list(result.primary)
        else:
            aqi = _day_aqi(day, rule_set)
            off_scale = aqi > AQI_TOP
            aqi = min(aqi, AQI_TOP)
            low, high = day.aqi_range or (0.0, 0.0)
            if low != high:
                aqi_range = (math.ceil(low), math.ceil(high))
        band = category_of(aqi)
        out.append(
            WarningDay(
                date=day.date,
                aqi=aqi,
                aqi_range=aqi_range,
                category=band.key,
                category_zh=band.zh,
                primary=primary,
                off_scale=off_scale,
            )
        )
    return out


def find_episodes(
    aqis: Sequence[int], bound: Threshold, merge_gap_days: int
) -> list[tuple[int, int]]:
    """``(first, last)`` index spans of days meeting ``bound``, merging gaps of at most
    ``merge_gap_days`` clean days."""
    spans: list[tuple[int, int]] = []
    for i, aqi in enumerate(aqis):
        if not bound.met_by(aqi):
            continue
        if spans and i - spans[-1][1] - 1 <= merge_gap_days:
            spans[-1] = (spans[-1][0], i)
        else:
            spans.append((i, i))
    return spans


def _dates(days: Sequence[WarningDay]) -> str:
    if len(days) > 1 and all(b.date - a.date == dt.timedelta(days=1) for a, b in pairwise(days)):
        return f"{days[0].date}..{days[-1].date}"
    return ", ".join(str(d.date) for d in days)


def _values(days: Sequence[WarningDay]) -> str:
    return ", ".join(str(d.aqi) for d in days)


def _longest_run(days: Sequence[WarningDay], bound: Threshold) -> list[WarningDay]:
    best: list[WarningDay] = []
    current: list[WarningDay] = []
    for day in days:
        current = [*current, day] if bound.met_by(day.aqi) else []
        if len(current) > len(best):
            best = current
    return best


def explain(trigger: Trigger, days: Sequence[WarningDay], lang: str = "en") -> str | None:
    """Why ``trigger`` is met on an episode's days (in ``lang``, en or zh), or None when it
    is not."""
    zh = lang == "zh"
    if trigger.run is not None:
        run = _longest_run(days, trigger.run)
        if len(run) < trigger.run.days:
            return None
        if zh:
            many = f"连续 {len(run)} 天" if len(run) > 1 else ""
            return f"{trigger.run.text()} {many}（{_dates(run)}：{_values(run)}）"
        many = f"{len(run)} consecutive days " if len(run) > 1 else ""
        return f"{trigger.run.text()} on {many}{_dates(run)} ({_values(run)})"
    if trigger.count is not None:
        hits = [d for d in days if trigger.count.met_by(d.aqi)]
        if len(hits) < trigger.count.days:
            return None
        if zh:
            many = f"共 {len(hits)} 天" if len(hits) > 1 else ""
            return f"{trigger.count.text()} {many}（{_dates(hits)}：{_values(hits)}）"
        many = f"{len(hits)} days " if len(hits) > 1 else ""
        return f"{trigger.count.text()} on {many}{_dates(hits)} ({_values(hits)})"
    if trigger.day is not None:
        hits = [d for d in days if trigger.day.met_by(d.aqi)]
        if not hits:
            return None
        if zh:
            return f"{trigger.day.text()}（{_dates(hits)}：{_values(hits)}）"
        return f"{trigger.day.text()} on {_dates(hits)} ({_values(hits)})"
    if trigger.all_of is not None:
        parts = [explain(t, days, lang) for t in trigger.all_of]
        return ("，且 " if zh else " and ").join(p for p in parts if p) if all(parts) else None
    for sub in trigger.any_of or []:
        reason = explain(sub, days, lang)
        if reason:
            return reason
    return None


def evaluate_episode(
    days: Sequence[WarningDay], rule_set: RuleSet, lang: str = "en"
) -> tuple[str | None, str | None]:
    """The most severe level whose trigger the episode meets, and why (in ``lang``)."""
    for level, trigger in reversed(rule_set.levels.items()):
        reason = explain(trigger, days, lang)
        if reason:
            return level, reason
    return None, None


def ordered_level(order: str, rule_set: RuleSet) -> str:
    """A regional order as a level of the rule set: the mildest at least as severe."""
    stricter = [lvl for lvl in rule_set.level_names if LEVEL_RANK[lvl] >= LEVEL_RANK[order]]
    return stricter[0] if stricter else rule_set.level_names[-1]


def release_ok(days: Sequence[WarningDay], rule_set: RuleSet) -> bool:
    """Whether the forecast stays at or below the episode bound for ``release_hours`` from
    its first day (36 h → the first 2 days)."""
    needed = rule_set.release_days
    return len(days) >= needed and not any(rule_set.episode.met_by(d.aqi) for d in days[:needed])


def _severer(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if LEVEL_RANK[a] >= LEVEL_RANK[b] else b


_RANGE_END_ZH = {"upper": "上限", "lower": "下限", "mid": "中值"}


@dataclass(frozen=True)
class _ReasonDays:
    """The days a forecast's reason names, in any language."""

    period: Sequence[WarningDay]
    """The chosen episode's days (every day when none was chosen)."""
    ranges: bool
    """Some of them were forecast as AQI ranges."""
    clean: list[WarningDay]
    """Days inside the chosen episode below its threshold (merged across)."""
    longest: Sequence[WarningDay] | None
    """With no episode chosen: the longest episode's days, if any."""


def _reason_days(
    days: Sequence[WarningDay],
    episodes: Sequence[Episode],
    chosen: Episode | None,
    rule_set: RuleSet,
) -> _ReasonDays:
    period = days[chosen.first : chosen.last + 1] if chosen else days
    clean = [d for d in period if not rule_set.episode.met_by(d.aqi)] if chosen else []
    longest = None
    if episodes:
        e = max(episodes, key=lambda e: e.last - e.first)
        longest = days[e.first : e.last + 1]
    return _ReasonDays(period, any(d.aqi_range for d in period), clean, longest)


def _forecast_reason_zh(
    days: Sequence[WarningDay],
    episodes: Sequence[Episode],
    chosen: Episode | None,
    rule_set: RuleSet,
) -> str:
    """:func:`_forecast_reason` in Chinese."""
    at = _reason_days(days, episodes, chosen, rule_set)
    end = _RANGE_END_ZH.get(rule_set.range_end, rule_set.range_end)
    tag = rule_set.id + (f"；AQI 预报范围取{end}" if at.ranges else "")
    merged = ""
    if at.clean:
        whole = f"{at.period[0].date}..{at.period[-1].date}"
        merged = f"，跨过 {_dates(at.clean)}（{_values(at.clean)}）合并为一次过程 {whole}"
    if chosen is not None and chosen.level is not None:
        return f"{chosen.why_zh}{merged} → {label('level', chosen.level, 'zh')}预警（{tag}）"
    if chosen is not None:
        return f"{chosen.advisory_why_zh}{merged}，仅达到健康提示 → 不发布预警（{tag}）"
    if at.longest is not None:
        span = at.longest
        return (
            f"{rule_set.episode.text()}（{_dates(span)}：{_values(span)}）未达到任何预警级别"
            f" → 不发布预警（{tag}）"
        )
    return (
        f"{_dates(days)}（{_values(days)}）无 {rule_set.episode.text()} 的日子"
        f" → 不发布预警（{tag}）"
    )


def _forecast_reason(
    days: Sequence[WarningDay],
    episodes: Sequence[Episode],
    chosen: Episode | None,
    rule_set: RuleSet,
) -> str:
    """What the forecast alone calls for, naming the days and AQI values that decide."""
    at = _reason_days(days, episodes, chosen, rule_set)
    tag = rule_set.id + (f"; {rule_set.range_end} end of AQI ranges" if at.ranges else "")
    merged = ""
    if at.clean:
        whole = f"{at.period[0].date}..{at.period[-1].date}"
        merged = f", one episode {whole} across the gap {_dates(at.clean)} ({_values(at.clean)})"
    if chosen is not None and chosen.level is not None:
        return f"{chosen.why}{merged} → {chosen.level} ({tag})"
    if chosen is not None:
        return f"{chosen.advisory_why}{merged} only → health advisory, no warning ({tag})"
    if at.longest is not None:
        span = at.longest
        return (
            f"{rule_set.episode.text()} on {_dates(span)} ({_values(span)}) reaches no level"
            f" → no warning ({tag})"
        )
    return (
        f"no day with {rule_set.episode.text()} in {_dates(days)} ({_values(days)})"
        f" → no warning ({tag})"
    )


def assess(forecast: Forecast, rule_set: RuleSet, standard: str | None = None) -> WarningDecision:
    """The warning decision for a forecast under a rule set.

    Parameters
    ----------
    forecast : the consultation forecast.
    rule_set : the rule set in force.
    standard : AQI standard for concentration days when the forecast names none (the city
        plan's); None or ``by-date``: the standard in force on each day.

    Returns
    -------
    WarningDecision
        ``level`` (None: no warning), ``advisory``, ``start``/``end`` (the deciding
        episode; with only a regional order, the forecast's days), ``reason``,
        ``regional_order``, ``release_ok`` and ``days`` (AQI and level per day).
    """
    days = day_values(forecast, rule_set, standard)
    episodes: list[Episode] = []
    for first, last in find_episodes(
        [d.aqi for d in days], rule_set.episode, rule_set.merge_gap_days
    ):
        span = days[first : last + 1]
        level, why = evaluate_episode(span, rule_set)
        advisory_why = advisory_why_zh = None
        if level is None and rule_set.advisory is not None:
            advisory_why = explain(rule_set.advisory, span)
            advisory_why_zh = explain(rule_set.advisory, span, "zh")
        why_zh = evaluate_episode(span, rule_set, "zh")[1]
        episodes.append(Episode(first, last, level, why, advisory_why, why_zh, advisory_why_zh))

    order = ordered_level(forecast.regional_order, rule_set) if forecast.regional_order else None
    for episode in episodes:
        for day in days[episode.first : episode.last + 1]:
            day.level = _severer(episode.level, order)
    if order is not None:
        for day in days:
            day.level = _severer(day.level, order)

    # the first episode that reaches a level is the one to respond to now; later ones are
    # forecast to come (a consultation then opens them)
    best = next((e for e in episodes if e.level is not None), None)
    advisory = next((e for e in episodes if e.advisory_why), None) if best is None else None
    level = _severer(best.level if best else None, order)

    chosen = best or (advisory if order is None else None)
    start = days[chosen.first].date if chosen else (days[0].date if order else None)
    end = days[chosen.last].date if chosen else (days[-1].date if order else None)
    alone = _forecast_reason(days, episodes, best or advisory, rule_set)
    alone_zh = _forecast_reason_zh(days, episodes, best or advisory, rule_set)

    if order is None:
        reason, reason_zh = alone, alone_zh
    else:
        named = forecast.regional_order
        said = f"regional order {named}" + (f" (read as {order})" if named != order else "")
        said_zh = f"区域预警指令{label('level', named, 'zh')}" + (
            f"（按{label('level', order, 'zh')}执行）" if named != order else ""
        )
        if best is not None and best.level == level:
            reason = f"{alone}; {said} is not stricter"
            reason_zh = f"{alone_zh}；{said_zh}不更严格"
        else:
            reason = f"{said} → {level}; the forecast alone: {alone}"
            reason_zh = f"{said_zh} → {label('level', level, 'zh')}预警；仅按预报：{alone_zh}"

    start_at, end_at = period_times(forecast, start, end)
    late_reason = lateness(forecast, start_at if level is not None else None, rule_set)
    return WarningDecision(
        level=level,
        advisory=advisory is not None and level is None,
        start=start,
        end=end,
        rule_set=rule_set.id,
        reason=reason,
        reason_zh=reason_zh,
        regional_order=order,
        release_ok=order is None and release_ok(days, rule_set),
        days=days,
        episodes=[_episode_view(days, e, rule_set) for e in episodes],
        start_at=start_at,
        end_at=end_at,
        late=bool(late_reason),
        late_reason=late_reason,
    )


def period_times(
    forecast: Forecast, start: dt.date | None, end: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When a warning over ``start..end`` begins and ends, in the city's time (+08:00).

    It begins at the forecast's ``effective_at`` when that falls on its first day, else at
    00:00 of that day; it ends at 24:00 of its last day.
    """
    if start is None or end is None:
        return None, None
    begins = dt.datetime.combine(start, dt.time(0), CITY_OFFSET)
    effective = forecast.effective_at
    if effective is not None and effective.astimezone(CITY_OFFSET).date() == start:
        begins = effective.astimezone(CITY_OFFSET)
    return begins, dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), CITY_OFFSET)


def lateness(forecast: Forecast, start_at: dt.datetime | None, rule_set: RuleSet) -> str:
    """Why a warning is late ('' when it is not): issued less than ``lead_hours`` before it
    takes effect (``start_at``)."""
    if start_at is None or forecast.issued_at is None or rule_set.lead_hours is None:
        return ""
    ahead = (start_at - forecast.issued_at).total_seconds() / 3600
    if ahead >= rule_set.lead_hours:
        return ""
    return (
        f"issued {max(ahead, 0):.0f} h ahead, less than the {rule_set.lead_hours} h lead; "
        "publish at once / 预警发布时间不足提前量，立即发布"
    )


def _episode_view(days: Sequence[WarningDay], episode: Episode, rule_set: RuleSet) -> EpisodeView:
    span = days[episode.first : episode.last + 1]
    if episode.level is not None:
        reason = f"{episode.why} → {episode.level}"
    elif episode.advisory_why:
        reason = f"{episode.advisory_why} → health advisory"
    else:
        reason = f"{rule_set.episode.text()} on {_dates(span)} ({_values(span)}) reaches no level"
    if episode.level is not None:
        reason_zh = f"{episode.why_zh or episode.why} → {label('level', episode.level, 'zh')}预警"
    elif episode.advisory_why:
        reason_zh = f"{episode.advisory_why_zh or episode.advisory_why}，仅达到健康提示"
    else:
        where = f"{_dates(span)}：{_values(span)}"
        reason_zh = f"{rule_set.episode.text()}（{where}）未达到任何预警级别"
    return EpisodeView(
        start=span[0].date,
        end=span[-1].date,
        level=episode.level,
        advisory=episode.level is None and episode.advisory_why is not None,
        peak_aqi=max(d.aqi for d in span),
        reason=reason,
        reason_zh=reason_zh,
    )


def held_until_release(
    warning: WarningDecision, rule_set: RuleSet, today: dt.date
) -> WarningDecision | None:
    """The warning that holds a warning in force when a new forecast reaches no level but
    the release condition does not hold yet: the rule set's mildest level from ``today``
    (or the forecast's first day) through the last day that still meets the episode bound.
    None when no day does (a forecast too short to tell)."""
    met = [d for d in warning.days if rule_set.episode.met_by(d.aqi)]
    if not met or not warning.days:
        return None
    mildest = rule_set.level_names[0]
    start = max(warning.days[0].date, today)
    reason = (
        f"{warning.reason}; the release condition ({rule_set.episode.text()} no more for "
        f"{rule_set.release_hours} h) does not hold until after {met[-1].date} → held at "
        f"{mildest} until then"
    )
    reason_zh = (
        f"{warning.reason_zh or warning.reason}；解除条件（{rule_set.episode.text()} 的情况消失"
        f" {rule_set.release_hours} 小时）在 {met[-1].date} 之前不满足 → 保持"
        f"{label('level', mildest, 'zh')}预警至该日"
    )
    update = {"level": mildest, "start": start, "end": met[-1].date, "reason": reason}
    return warning.model_copy(update={**update, "reason_zh": reason_zh})
