"""The visualiser's HTML without a server: `render`, one document's section, a whole page,
and what a notebook shows for a Doc or Span (`Doc._repr_html_` calls `repr_html`).
`nlp_core.display` is the public module; it adds `serve`.
"""
from typing import Any, Iterable, List, Mapping, Optional, Union

from .display_data import DisplayDoc, from_doc
from .display_dep import render_dep
from .display_ent import render_ent, render_span
from .display_style import FONT_FAMILY, escape, resolve_options

RENDERERS = {"dep": render_dep, "ent": render_ent, "span": render_span}
# what a served or written page may load: nothing but its own inline styles and data images
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _as_display_docs(docs: Any) -> List[DisplayDoc]:
    if isinstance(docs, DisplayDoc) or hasattr(docs, "text"):
        docs = [docs]
    return [d if isinstance(d, DisplayDoc) else from_doc(d) for d in docs]


def render_document(doc: DisplayDoc, style: str, options: Mapping[str, Any]) -> str:
    """One document's section: its title, metadata, problems and the drawing (`options`
    resolved by `display_style.resolve_options`)."""
    out = ['<section class="nc-doc" style="margin: 1em 0 2em 0">']
    if doc.title is not None:
        out.append(f'<h2 class="nc-doc-id" style="font-size: 1em; margin: 0 0 0.3em 0">'
                   f'{escape(doc.title)}</h2>')
    if doc.meta:
        items = " \u00b7 ".join(f"{escape(k)}: {escape(v)}" for k, v in doc.meta)
        out.append(f'<div class="nc-doc-meta" style="color: #555; font-size: 0.85em">{items}'
                   f'</div>')
    for problem in doc.problems:
        out.append(f'<div class="nc-problem" style="color: #a40; font-size: 0.85em">'
                   f'{escape(problem)}</div>')
    out.append(RENDERERS[style](doc, options))
    out.append("</section>")
    return "".join(out)


def render(docs: Union[Any, Iterable[Any]], style: str = "dep",
           options: Optional[Mapping[str, Any]] = None, *, page: bool = False,
           title: str = "nlp_core display") -> str:
    """HTML for `docs` (a Doc, Span or DisplayDoc, or a sequence of them) in `style`.

    Args:
        docs: what to draw; a Span is drawn as the document it spans.
        style: "dep", "ent" or "span".
        options: the style's options (see the module docstring).
        page: a whole HTML page (with a Content-Security-Policy) instead of a fragment.
        title: the page's title when `page` is set.

    Returns:
        The HTML as a string.
    """
    resolved = resolve_options(style, options)
    body = "".join(render_document(d, style, resolved) for d in _as_display_docs(docs))
    fragment = f'<div class="nc-display" style="font-family: {FONT_FAMILY}">{body}</div>'
    return make_page(fragment, title=title) if page else fragment


def make_page(body: str, *, title: str, header: str = "") -> str:
    """A standalone page around rendered HTML (`body` and `header` are already escaped)."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title></head>'
            f'<body style="margin: 1.5em; font-family: {FONT_FAMILY}; color: #111; '
            f'background: #fff">{header}{body}</body></html>\n')


def repr_html(doc: Any) -> str:
    """What a notebook shows for a Doc or Span: the parse when there is one, else the
    entities."""
    display_doc = from_doc(doc)
    style = "dep" if display_doc.heads is not None else "ent"
    return render(display_doc, style)
