"""See annotations: dependency arcs, entities and span groups as HTML with inline SVG.

    from nlp_core import display
    html = display.render(nlp("Ada Lovelace wrote the first program."), style="dep")
    display.serve(docs, style="ent", port=5000)   # a local page until Ctrl-C

`render` takes Docs, Spans or `DisplayDoc`s (e.g. rows of the annotate job's Parquet output,
see `display_table`) and returns an HTML fragment, or a whole page with `page=True`. No
script is needed to read it (and a page forbids scripts outright in its
Content-Security-Policy): the layout is computed here. Every piece of document text, label,
id and metadata is escaped, so a document holding `<script>` shows it as text.

Styles and their options (unknown names are an error):

- `dep`: `font_size` (px, 16), `wrap_width` (px, 960; None: one row per sentence, scrolled),
  `fine_grained` (tags instead of universal POS under the words), `add_lemma`.
- `ent`: `ents` (labels to show; None: all).
- `span`: `spans_key` (one span group; None: every group, labelled with its name).
- all: `colors` ({label: CSS colour}), `direction` ('ltr', 'rtl'; None: from the text).
"""
import http.server
import sys
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union

from .display_data import DisplayDataError, DisplayDoc, from_doc
from .display_dep import render_dep
from .display_ent import render_ent, render_span
from .display_style import FONT_FAMILY, escape, resolve_options

RENDERERS = {"dep": render_dep, "ent": render_ent, "span": render_span}
# what a served or written page may load: nothing but its own inline styles and data images
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

__all__ = ["render", "render_document", "make_page", "serve", "make_server", "DisplayDoc",
           "DisplayDataError"]


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


class _PageHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        if self.path.split("?")[0] not in ("/", "/index.html"):
            self.send_error(404, "Only / is served")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        sys.stderr.write(f"display: {self.address_string()} {format % args}\n")


def make_server(html: str, *, port: int = 5000,
                host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """An HTTP server (not yet serving) whose only page, `/`, is `html`. Port 0 picks a
    free port (`server.server_address[1]`)."""
    handler = type("PageHandler", (_PageHandler,), {"body": html.encode("utf8")})
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve(docs: Union[Any, Sequence[Any]], style: str = "dep",
          options: Optional[Mapping[str, Any]] = None, *, port: int = 5000,
          host: str = "127.0.0.1", html: Optional[str] = None) -> None:
    """Serve the page of `docs` (or the given `html`) at http://host:port/ until Ctrl-C.

    Listens on the loopback address unless `host` says otherwise: documents may be private.
    """
    page_html = html if html is not None else render(docs, style, options, page=True)
    server = make_server(page_html, port=port, host=host)
    sys.stderr.write(f"Serving the page on http://{host}:{server.server_address[1]}/ "
                     "(Ctrl-C stops)\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.stderr.write("Stopped.\n")
    finally:
        server.server_close()


def repr_html(doc: Any) -> str:
    """What a notebook shows for a Doc or Span: the parse when there is one, else the
    entities."""
    display_doc = from_doc(doc)
    style = "dep" if display_doc.heads is not None else "ent"
    return render(display_doc, style)

