"""The page `python -m nlp_core display` writes: a header with the run summary (model,
counts, dead letters by reason) and the selection, then one section per document.

Everything from the files (the summary's values too) is escaped; a summary that is not the
expected shape is shown as far as it is, never trusted.
"""
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from .display_html import make_page, render_document
from .display_style import escape, resolve_options
from .display_table import Selection

MAX_PAGE_CHARS = 64 << 20
CELL = "padding: 0.15em 0.8em 0.15em 0; text-align: start; vertical-align: top"


def _rows(pairs: Sequence[Tuple[str, Any]]) -> str:
    return "".join(f'<tr><th style="{CELL}; color: #555; font-weight: normal">{escape(k)}</th>'
                   f'<td style="{CELL}">{escape(v)}</td></tr>' for k, v in pairs)


def _summary_html(path: str, summary: Any) -> str:
    out = [f'<div class="nc-summary" style="margin: 0.6em 0"><div style="font-weight: bold">'
           f'Run summary: {escape(path)}</div>']
    if not isinstance(summary, Mapping):
        out.append(f'<div class="nc-problem" style="color: #a40">{escape(summary)}</div></div>')
        return "".join(out)
    model = summary.get("model") if isinstance(summary.get("model"), Mapping) else {}
    counts = summary.get("counts") if isinstance(summary.get("counts"), Mapping) else {}
    components = model.get("components")
    parts = ", ".join(map(str, components)) if isinstance(components, list) else "?"
    lines = [f"model <b>{escape(model.get('name', '?'))} {escape(model.get('version', ''))}</b> "
             f"({escape(parts)}) \u00b7 input {escape(summary.get('input', '?'))}",
             f"read <b>{escape(counts.get('read', '?'))}</b> = annotated "
             f"<b>{escape(counts.get('annotated', '?'))}</b> + dead-lettered "
             f"<b>{escape(counts.get('dead_lettered', '?'))}</b> (reconciled: "
             f"{escape(summary.get('reconciled', '?'))}) \u00b7 tokens "
             f"{escape(counts.get('tokens', '?'))}"]
    out.append("".join(f'<div class="nc-summary-line">{line}</div>' for line in lines))
    reasons = counts.get("dead_letter_by_reason")
    if isinstance(reasons, Mapping) and reasons:
        items = " \u00b7 ".join(f'{escape(k)} <b>{escape(v)}</b>' for k, v in
                               sorted(reasons.items(), key=lambda kv: str(kv[0])))
        out.append(f'<div class="nc-dead-letters" style="margin-top: 0.4em">Dead letters by '
                   f'reason: {items}</div>')
    out.append("</div>")
    return "".join(out)


def build_page(selection: Selection, summaries: Sequence[Tuple[str, Any]], *, style: str,
               pattern: str, doc_ids: Sequence[str], where: Optional[str], limit: Optional[int],
               options: Optional[Mapping[str, Any]] = None) -> str:
    """The whole page for a `select` result."""
    resolved = resolve_options(style, options)
    asked: List[Tuple[str, Any]] = [("files", f"{pattern} ({len(selection.files)} file(s), "
                                               f"{selection.total_rows} rows)")]
    if doc_ids:
        asked.append(("doc ids", ", ".join(doc_ids)))
    if where:
        asked.append(("where", where))
    if limit is not None:
        asked.append(("limit", limit))
    shown = f"{len(selection.docs)} document(s)"
    if selection.more:
        shown += " (more rows match: raise --limit)"
    asked.append(("shown", shown))
    header = ['<header class="nc-header" style="border-bottom: 1px solid #ccc; '
              'padding-bottom: 0.8em; margin-bottom: 1em">'
              '<h1 style="font-size: 1.3em; margin: 0 0 0.4em 0">Annotations</h1>'
              f'<table class="nc-selection" style="border-collapse: collapse">{_rows(asked)}'
              '</table>']
    if not summaries:
        header.append('<div class="nc-problem" style="color: #a40">No run_summary.json beside '
                      'these tables.</div>')
    header.extend(_summary_html(path, summary) for path, summary in summaries)
    for doc_id in selection.missing_ids:
        header.append(f'<div class="nc-problem" style="color: #a40">No row with doc_id '
                      f'{escape(repr(doc_id))}.</div>')
    for error in selection.errors:
        header.append(f'<div class="nc-problem" style="color: #a40">{escape(error)}</div>')
    header.append("</header>")
    sections: List[str] = []
    size = 0
    for number, doc in enumerate(selection.docs):
        if size > MAX_PAGE_CHARS:
            sections.append(f'<div class="nc-problem" style="color: #a40">The page stops here: '
                            f'{len(selection.docs) - number} more document(s) would make it '
                            f'larger than {MAX_PAGE_CHARS >> 20} MiB. Use --limit or '
                            f'--max-tokens.</div>')
            break
        sections.append(render_document(doc, style, resolved))
        size += len(sections[-1])
    body = "".join(sections)
    return make_page(f'<main class="nc-display">{body}</main>', title=f"display: {pattern}",
                     header="".join(header))
