from markupsafe import Markup

from ptce_aap.markdown import render_markdown


def test_render_markdown_turns_emphasis_into_html():
    html = render_markdown("Un **pôle** de *coopération*")
    assert isinstance(html, Markup)
    assert str(html) == "<p>Un <strong>pôle</strong> de <em>coopération</em></p>"


def test_render_markdown_removes_script_with_its_content():
    assert str(render_markdown("Avant <script>alert('x')</script> après")) == "<p>Avant  après</p>"


def test_render_markdown_removes_event_attributes_and_unknown_tags():
    html = str(render_markdown('<div onclick="steal()">Texte <span style="color:red">rouge</span></div>'))
    assert html == "Texte rouge"


def test_render_markdown_keeps_links_with_rel_and_drops_javascript_urls():
    html = str(render_markdown("[Décret](https://www.legifrance.gouv.fr/) et [piège](javascript:alert(1))"))
    assert html == ('<p><a href="https://www.legifrance.gouv.fr/" rel="noopener noreferrer">Décret</a> et '
                    '<a rel="noopener noreferrer">piège</a></p>')


def test_render_markdown_keeps_allowed_structure():
    source = "## Objectifs\n\n- un\n- deux\n\n> cité\n\n1. `code`\n\n#### Détail"
    assert str(render_markdown(source)) == (
        "<h2>Objectifs</h2>\n<ul>\n<li>un</li>\n<li>deux</li>\n</ul>\n<blockquote>\n<p>cité</p>\n</blockquote>\n"
        "<ol>\n<li><code>code</code></li>\n</ol>\n<h4>Détail</h4>")


def test_render_markdown_strips_h1_and_images_but_keeps_text():
    assert str(render_markdown("# Titre\n\n![logo](https://example.org/x.png)")) == "Titre\n<p></p>"


def test_render_markdown_of_nothing_is_empty():
    assert render_markdown("") == Markup("")
    assert render_markdown(None) == Markup("")
