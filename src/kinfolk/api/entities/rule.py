"""The Mastodon Rule entity."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.instance.models import Rule


def render_rule(rule: Rule) -> dict[str, Any]:
    return {"id": str(rule.id), "text": rule.text, "hint": rule.hint or "", "translations": {}}


def render_rules(rules: list[Rule]) -> list[dict[str, Any]]:
    return [render_rule(rule) for rule in rules]
