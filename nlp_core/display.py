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
- `span`: `spans_key` (one span group; None: every group; a bar's tooltip names its group).
- all: `colors` ({label: CSS colour}), `direction` ('ltr', 'rtl'; None: from the text).
"""
import http.server
import sys
from typing import Any, Mapping, Optional, Sequence, Union

from .display_data import DisplayDataError, DisplayDoc
from .display_html import CSP, make_page, render, render_document, repr_html

__all__ = ["render", "render_document", "make_page", "repr_html", "serve", "make_server",
           "DisplayDoc", "DisplayDataError"]


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
