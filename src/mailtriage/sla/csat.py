"""Customer satisfaction (`[sla.csat]`): a survey link for resolution templates, and ratings
that come back by mail.

- Templates get `csat.url`: `survey_url` with `{id}` replaced by the conversation's short id
  (undefined when no survey is configured, so `{{ csat.url | default("") }}` works).
- A customer message whose subject or text matches `rating_pattern` is a rating: group 1 is
  a digit 1-5 (full-width too) or one of `words` (満足 = 4, …). The routing pass on arrival
  (rules.arrival), which claims each new message once for the whole team, records it as a
  `rated` event on the server; reports count one rating per message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailtriage.config import _Reader

# 満足度 / 評価 / rating / CSAT, a separator, then a digit or a word: "評価: 4", "rating=5",
# "満足度：大変満足". Longer words first, so 大変満足 is not read as 満足.
DEFAULT_WORDS: dict[str, int] = {
    "大変満足": 5,
    "非常に満足": 5,
    "やや満足": 4,
    "満足": 4,
    "普通": 3,
    "やや不満": 2,
    "大変不満": 1,
    "非常に不満": 1,
    "不満": 2,
}
DEFAULT_PATTERN = r"(?:満足度|評価|rating|csat)\s*[:：=]\s*({words}|[1-5１-５])"
TEXT_LIMIT = 4000  # a rating sits at the top of a reply; quoted history below is ignored


@dataclass(frozen=True)
class CsatConfig:
    enabled: bool = False  # an [sla.csat] table is there: ratings are looked for
    survey_url: str | None = None  # e.g. "https://survey.example.co.jp/s?t={id}"
    pattern: str = DEFAULT_PATTERN
    words: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WORDS))

    @property
    def regex(self) -> re.Pattern[str]:
        words = "|".join(re.escape(w) for w in sorted(self.words, key=len, reverse=True))
        return re.compile(self.pattern.replace("{words}", words or "(?!)"), re.IGNORECASE)


def survey_variables(config: CsatConfig, short_id: str) -> dict[str, Any]:
    """The template's `csat` variable: {"url": …} or {} when no survey is configured."""
    if not config.survey_url:
        return {}
    return {"url": config.survey_url.replace("{id}", short_id)}


def find_rating(config: CsatConfig, subject: str, text: str) -> int | None:
    """The 1-5 rating a customer message gives, or None."""
    regex = config.regex
    for part in (subject or "", (text or "")[:TEXT_LIMIT]):
        # The reply's own lines only: "> 評価: 5" quoted from our survey mail is not a rating.
        own = "\n".join(line for line in part.splitlines() if not line.lstrip().startswith(">"))
        match = regex.search(own)
        if match is None:
            continue
        value = unicodedata.normalize("NFKC", match.group(1))
        if value.isdigit():
            if 1 <= int(value) <= 5:
                return int(value)
            continue
        for word, rating in config.words.items():
            if word.casefold() == value.casefold():
                return rating
    return None


def parse_csat(reader: _Reader | None) -> CsatConfig:
    if reader is None:
        return CsatConfig()
    reader.unknown({"survey_url", "rating_pattern", "words"})
    url = reader.str("survey_url")
    if url is not None and not url.startswith(("https://", "http://")):
        raise reader.err(
            "survey_url", f"expected an http(s) URL, got {url!r}", 'survey_url = "https://…?t={id}"'
        )
    pattern = reader.str("rating_pattern") or DEFAULT_PATTERN
    words = dict(DEFAULT_WORDS)
    table = reader.table("words", required=False)
    if table is not None:
        words = {}
        for word, value in table.data.items():
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
                raise table.err(word, f"expected a rating from 1 to 5, got {value!r}")
            words[word] = value
    config = CsatConfig(True, url, pattern, words)
    try:
        regex = config.regex
    except re.error as exc:
        raise reader.err(
            "rating_pattern", f"not a valid regular expression: {exc}", "use a TOML 'literal'"
        ) from None
    if regex.groups < 1:
        raise reader.err(
            "rating_pattern",
            "needs a group for the rating",
            r"rating_pattern = '評価\s*[:：]\s*([1-5])'",
        )
    return config
