"""A call's slug is never a static word of the URLs where a slug stands (/admin/appels/nouveau…): the reserved
list of ``domain.call_settings`` is checked against the app's URL map, so that a route added later is covered."""

from __future__ import annotations

from ptce_aap.domain.call_settings import RESERVED_SLUGS, settings_problems


def _static_words_where_a_slug_stands(app) -> set[str]:
    rules = [rule.rule.strip("/").split("/") for rule in app.url_map.iter_rules()]
    prefixes = {tuple(parts[:parts.index("<slug>")]) for parts in rules if "<slug>" in parts}
    return {parts[len(prefix)] for parts in rules for prefix in prefixes
            if len(parts) > len(prefix) and tuple(parts[:len(prefix)]) == prefix
            and not parts[len(prefix)].startswith("<")}


def test_every_static_word_where_a_slug_stands_is_reserved(app):
    words = _static_words_where_a_slug_stands(app)
    assert "nouveau" in words
    assert words <= RESERVED_SLUGS, words - RESERVED_SLUGS


def test_a_reserved_word_is_refused_as_slug():
    for word in RESERVED_SLUGS:
        assert "mot réservé" in settings_problems({"slug": word}).get("slug", "")
    assert "slug" not in settings_problems({"slug": "ptce-2027"})
