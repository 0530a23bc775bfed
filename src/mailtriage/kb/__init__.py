"""The team's knowledge base: Markdown articles with front-matter, a local FTS index, search,
suggestions for a conversation, the rules for putting an article into a reply, and checks.

Nothing here imports Textual; SQL lives in `mailtriage.store.kb_index`.
"""

from mailtriage.kb.article import Article, KbError, load_article, parse_article

__all__ = ["Article", "KbError", "load_article", "parse_article"]
