"""DocBin read docs/s: bytes of a 2,000-doc `.spacy` file -> Docs (from_bytes + get_docs).

The file stores (empty) user data per doc, as `spacy convert` writes it; the details also
give the rate for the same docs written without user data (`DocBin()` defaults), where
spaCy skips its per-doc user-data msgpack call.

The nlp_core side also writes its own `.spacy` files (the same docs, and EWT dev converted
by `read_conllu` with n_sents=10); the spaCy side of the same run loads them with spaCy and
reports whether every doc has the expected attributes, so the details say whether our files
load in spaCy.
"""
from docbin_common import (
    EWT_DEV,
    OURS_BIN,
    OURS_EWT_DEV,
    OUT_DIR,
    REPEAT,
    bench_bytes,
    count_equal,
    expected_fields,
    fields,
    measure_read,
    payload,
)


def _without_user_data(doc_bin_class, vocab, docs: list, passes: int) -> float:
    plain = doc_bin_class(docs=docs).to_bytes()
    seconds, _ = measure_read(doc_bin_class, vocab, plain, passes)
    return round(len(docs) / seconds)


def _result(seconds: float, docs: list, details: dict) -> dict:
    details.update({"docs": len(docs), "tokens": sum(len(d) for d in docs),
                    "best_seconds": round(seconds, 5)})
    return {"metric": "docs/s", "value": len(docs) / seconds, "higher_is_better": True,
            "details": details}


def ours(options) -> dict:
    from nlp_core.formats import read_conllu
    from nlp_core.tokens import DocBin
    from nlp_core.vocab import Vocab

    data = bench_bytes(DocBin)
    vocab = Vocab()
    seconds, docs = measure_read(DocBin, vocab, data, options.passes)
    plain_rate = _without_user_data(DocBin, vocab, docs, options.passes)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    DocBin(store_user_data=True, docs=docs).to_disk(OURS_BIN)
    DocBin(store_user_data=True, docs=read_conllu(EWT_DEV, n_sents=10)).to_disk(OURS_EWT_DEV)
    return _result(seconds, docs, {
        "equal_to_expected": f"{count_equal(docs, expected_fields())}/{len(docs)}",
        "docs_per_s_without_user_data": plain_rate})


def spacy(options) -> dict:
    import spacy as spacy_lib
    from spacy.tokens import DocBin
    from spacy.training.converters import conllu_to_docs

    nlp = spacy_lib.blank("en")
    data = bench_bytes(DocBin)
    seconds, docs = measure_read(DocBin, nlp.vocab, data, options.passes)
    details = {"spacy_version": spacy_lib.__version__, "repeat": REPEAT,
               "docs_per_s_without_user_data": _without_user_data(DocBin, nlp.vocab, docs,
                                                                  options.passes)}
    if not OURS_BIN.exists():
        details["interop"] = "run the nlp_core side first (it writes the files checked here)"
        return _result(seconds, docs, details)
    ours_data = OURS_BIN.read_bytes()
    ours_docs = list(DocBin().from_bytes(ours_data).get_docs(nlp.vocab))
    details["our_file_loads_in_spacy"] = True
    details["our_docs_equal_in_spacy"] = \
        f"{count_equal(ours_docs, expected_fields())}/{len(ours_docs)}"
    spacy_bytes = DocBin(store_user_data=True, docs=docs).to_bytes()
    details["our_payload_identical_to_spacys"] = payload(ours_data) == payload(spacy_bytes)
    # EWT dev: our converter's file vs spaCy's own converter, token by token
    ours_dev = list(DocBin().from_disk(OURS_EWT_DEV).get_docs(nlp.vocab))
    with open(EWT_DEV, encoding="utf8") as file_:
        spacy_dev = list(conllu_to_docs(file_.read(), n_sents=10, no_print=True))
    mismatches = {}
    for a, b in zip(ours_dev, spacy_dev):
        fa, fb = fields(a), fields(b)
        for key in fa:
            if key in ("text", "ents"):
                mismatches[key] = mismatches.get(key, 0) + (fa[key] != fb[key])
            else:
                mismatches[key] = mismatches.get(key, 0) + sum(
                    x != y for x, y in zip(fa[key], fb[key]))
    details["ewt_dev_docs_ours_vs_spacy_convert"] = f"{len(ours_dev)} vs {len(spacy_dev)}"
    details["ewt_dev_token_mismatches"] = {k: v for k, v in mismatches.items() if v}
    return _result(seconds, docs, details)
