"""Routing rules and the urgency/sentiment scorer.

For the sync loop: `evaluate_new(conn, keys, config) -> list[Planned]`, then
`await apply(actions, planned)`. For the TUI: `score_conversation(conversation) -> Score`.
"""

from mailtriage.rules.engine import Match, Planned, apply, evaluate_new, explain
from mailtriage.rules.model import Rule
from mailtriage.rules.score import Score, score_conversation

__all__ = [
    "Match",
    "Planned",
    "Rule",
    "Score",
    "apply",
    "evaluate_new",
    "explain",
    "score_conversation",
]
