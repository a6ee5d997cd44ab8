"""What the window's interactions cost, against an all-human team.

frontdesk's cost: the language-model tokens at `[llm.prices]` plus the minutes people spent on
handoffs at `report.loaded_wage_per_hour`. The all-human baseline: every interaction (a
conversation with a decision in the window) answered by a person, at `report.queries_per_hour`
interactions per hour, so `loaded_wage_per_hour / queries_per_hour` each.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.analytics.model import Cost, ModelCost
from frontdesk.llm.settings import TokenPrice
from frontdesk.observability.report_settings import ReportSettings

DIGITS = 6


@dataclass(frozen=True)
class LlmUsage:
    """The window's calls of one model, their tokens added up."""

    model: str
    calls: int
    input_tokens: int
    output_tokens: int


def token_cost(price: TokenPrice, input_tokens: int, output_tokens: int) -> float:
    """Tokens at a price per 1,000 (as frontdesk.llm.usage prices each call)."""
    return input_tokens / 1000 * price.input_per_1k + output_tokens / 1000 * price.output_per_1k


def cost_figures(
    options: ReportSettings,
    prices: dict[str, TokenPrice],
    interactions: int,
    human_seconds: float,
    usage: list[LlmUsage],
) -> Cost:
    by_model = {
        used.model: ModelCost(
            calls=used.calls,
            input_tokens=used.input_tokens,
            output_tokens=used.output_tokens,
            priced=used.model in prices,
            cost=round(
                token_cost(prices[used.model], used.input_tokens, used.output_tokens), DIGITS
            )
            if used.model in prices
            else 0.0,
        )
        for used in usage
    }
    llm_cost = round(sum(model.cost for model in by_model.values()), DIGITS)
    wage = options.loaded_wage_per_hour
    human_cost = round(human_seconds / 3600 * wage, DIGITS)
    total = round(llm_cost + human_cost, DIGITS)
    per_person = round(wage / options.queries_per_hour, DIGITS)
    all_human = round(interactions * wage / options.queries_per_hour, DIGITS)
    return Cost(
        currency=options.currency,
        loaded_wage_per_hour=wage,
        queries_per_hour=options.queries_per_hour,
        interactions=interactions,
        llm_by_model=by_model,
        llm_cost=llm_cost,
        human_minutes=round(human_seconds / 60, 3),
        human_cost=human_cost,
        total_cost=total,
        cost_per_interaction=round(total / interactions, DIGITS) if interactions else None,
        all_human_cost_per_interaction=per_person,
        all_human_cost=all_human,
        saving=round(all_human - total, DIGITS),
        saving_share=round((all_human - total) / all_human, 4) if all_human else None,
    )
