"""DocBin write docs/s: 2,000 annotated Docs -> `.spacy` bytes (DocBin(docs=...).to_bytes(),
default attrs, zlib level 6 as spaCy uses)."""
from docbin_common import bench_bytes, measure_read, measure_write


def _result(seconds: float, docs: list, details: dict) -> dict:
    details.update({"docs": len(docs), "tokens": sum(len(d) for d in docs),
                    "best_seconds": round(seconds, 5)})
    return {"metric": "docs/s", "value": len(docs) / seconds, "higher_is_better": True,
            "details": details}


def ours(options) -> dict:
    from nlp_core.tokens import DocBin
    from nlp_core.vocab import Vocab

    _, docs = measure_read(DocBin, Vocab(), bench_bytes(DocBin), 1)
    return _result(measure_write(DocBin, docs, options.passes), docs, {})


def spacy(options) -> dict:
    import spacy as spacy_lib
    from spacy.tokens import DocBin

    nlp = spacy_lib.blank("en")
    _, docs = measure_read(DocBin, nlp.vocab, bench_bytes(DocBin), 1)
    return _result(measure_write(DocBin, docs, options.passes), docs,
                   {"spacy_version": spacy_lib.__version__})
