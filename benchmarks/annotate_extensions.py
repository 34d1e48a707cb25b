"""What extension columns cost the annotate job: building a batch's annotations rows with
and without `--extensions`, against the pipeline's own time on the same documents.

    python benchmarks/annotate_extensions.py --docs 2000 --passes 5

EWT dev sentences are annotated once with en_ewt_sm; a component-like loop then sets
doc._.bench_n_tokens (int), token._.bench_cap (bool, by assignment: read from user_data)
and token._.bench_shape (string, a getter: called per token) plus one span value per
entity (a getter). Each spec's rows (`ExtensionReader.read` + `docs_to_record_batch`) are
timed, best of --passes, against the rows without extensions measured in the same run,
and the extra time is given per token and as a share of `nlp.pipe`'s time. The machine is
shared: compare the ratios, not the absolute times.
"""
import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from beam_jobs.arrow import docs_to_record_batch  # noqa: E402
from beam_jobs.extensions import ExtensionReader, parse_extensions  # noqa: E402
from beam_jobs.records import Record  # noqa: E402
from benchmarks.common import EWT, best_time, conllu_texts  # noqa: E402

SPECS = ("doc:bench_n_tokens:int", "token:bench_cap:bool", "token:bench_shape:string",
         "span:bench_len:int",
         "doc:bench_n_tokens:int,token:bench_cap:bool,token:bench_shape:string,"
         "span:bench_len:int")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--model", default="en_ewt_sm")
    args = parser.parse_args()

    import nlp_core
    from nlp_core.tokens import Doc, Span, Token

    Doc.set_extension("bench_n_tokens", default=None, force=True)
    Token.set_extension("bench_cap", default=None, force=True)
    Token.set_extension("bench_shape", getter=lambda t: t.shape_, force=True)
    Span.set_extension("bench_len", getter=len, force=True)
    sentences = conllu_texts(EWT / "en_ewt-ud-dev.conllu")
    # two sentences a document, as many as asked (EWT dev repeated if need be)
    pairs = zip(*[itertools.cycle(sentences)] * 2)
    texts = [f"{a} {b}" for a, b in itertools.islice(pairs, args.docs)]
    nlp = nlp_core.load(args.model)
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=256))
    pipe_seconds = time.perf_counter() - start
    for doc in docs:
        doc._.bench_n_tokens = len(doc)
        for token in doc:
            token._.bench_cap = token.text[:1].isupper()
    records = [Record(f"d{i}", "bench", i, i + 1, d.text, None, len(d.text), len(d.text))
               for i, d in enumerate(docs)]
    n_tokens = sum(len(d) for d in docs)

    def rows(reader=None):
        values = []
        if reader is not None:
            values, failures = reader.read(docs)
            assert not failures, failures[:3]
        return docs_to_record_batch(records, docs, keep_text=False, pipeline_name="b",
                                    pipeline_version="1", extensions=reader,
                                    extension_values=values)

    base = best_time(rows, args.passes)
    print(f"{len(docs)} docs, {n_tokens} tokens, {sum(len(d.ents) for d in docs)} entities; "
          f"nlp.pipe ({args.model}) {pipe_seconds:.2f} s; rows without extensions "
          f"{base * 1000:.0f} ms (best of {args.passes})")
    print("| --extensions | rows | vs rows without | extra per token | extra vs nlp.pipe |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for spec in SPECS:
        reader = ExtensionReader(parse_extensions(spec))
        seconds = best_time(lambda reader=reader: rows(reader), args.passes)
        extra = seconds - base
        print(f"| `{spec}` | {seconds * 1000:.0f} ms | {seconds / base:.2f}x | "
              f"{extra / n_tokens * 1e6:.2f} us | {extra / pipe_seconds * 100:.1f}% |")


if __name__ == "__main__":
    main()
