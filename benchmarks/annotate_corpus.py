"""JSONL corpora for the annotate job, built from UD English EWT: documents of a few
consecutive sentences of one EWT document, mixed with deliberately bad records of every kind
the job dead-letters. Standard library only (the spaCy side of the benchmarks imports it).

    python benchmarks/annotate_corpus.py OUT.jsonl [--docs N] [--bad-fraction F]
        [--max-sents K] [--source test|dev|train] [--seed S]

`examples/ewt_sample.jsonl` is
`python benchmarks/annotate_corpus.py examples/ewt_sample.jsonl --docs 300 --bad-per-kind 2`.

Bad records (their `error_type` in the dead-letter table): `bad_json`, `not_utf8`,
`not_an_object`, `bad_id`, `missing_text`, `text_not_string`, `empty_text`,
`text_too_long` (longer than OVERSIZE_LIMIT characters: run the job with
`--max-chars OVERSIZE_LIMIT`), `bad_meta`, `duplicate_id` (an id an earlier good record
has). Good records cycle through three shapes: string id, integer id, no id (the job then
uses `<source>@<offset>`), some with a `meta` object.
"""
import argparse
import json
import random
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

EWT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ud_english_ewt"
OVERSIZE_LIMIT = 5000  # --max-chars to pass to the job for these corpora
BAD_KINDS = ("bad_json", "not_utf8", "not_an_object", "bad_id", "missing_text",
             "text_not_string", "empty_text", "text_too_long", "bad_meta", "duplicate_id")


def ewt_documents(path: Path, max_sents: int) -> Iterator[Tuple[str, str]]:
    """(id, text): runs of up to `max_sents` consecutive sentences of one EWT document,
    joined by spaces; the id is the EWT document id and the run's first sentence number."""
    doc_id, sents, first = "", [], 0

    def flush():
        if sents:
            yield f"{doc_id}#{first}", " ".join(sents)

    with open(path, encoding="utf8") as file_:
        for line in file_:
            if line.startswith("# newdoc id = "):
                yield from flush()
                doc_id, sents, first = line.split("=", 1)[1].strip(), [], 0
            elif line.startswith("# text = "):
                if len(sents) == max_sents:
                    yield from flush()
                    first += len(sents)
                    sents = []
                sents.append(line[len("# text = "):].rstrip("\n"))
    yield from flush()


def good_record(i: int, doc_id: str, text: str) -> Dict:
    shape = i % 3
    record: Dict = {"text": text}
    if shape == 0:
        record["id"] = doc_id
    elif shape == 1:
        record["id"] = 1_000_000 + i
    if i % 5 == 0:
        record["meta"] = {"ewt_doc": doc_id.split("#")[0]}
    return record


def bad_record(kind: str, i: int, text: str, earlier_id: str) -> bytes:
    """One malformed JSONL line (without its newline) of `kind`."""
    if kind == "bad_json":
        return json.dumps({"id": f"bad-{i}", "text": text}).encode("utf8")[:-7]
    if kind == "not_utf8":
        return b'{"id": "bad-%d", "text": "caf\xe9 ' % i + text[:40].encode("ascii", "replace") \
            + b'"}'
    if kind == "not_an_object":
        return json.dumps([text]).encode("utf8")
    if kind == "bad_id":
        return json.dumps({"id": [i], "text": text}).encode("utf8")
    if kind == "missing_text":
        return json.dumps({"id": f"bad-{i}", "body": text}).encode("utf8")
    if kind == "text_not_string":
        return json.dumps({"id": f"bad-{i}", "text": [text] if i % 2 else i}).encode("utf8")
    if kind == "empty_text":
        return json.dumps({"id": f"bad-{i}", "text": "" if i % 2 else " \n\t"}).encode("utf8")
    if kind == "text_too_long":
        long_text = (text + " ") * (OVERSIZE_LIMIT // max(len(text) + 1, 1) + 1)
        return json.dumps({"id": f"bad-{i}", "text": long_text}).encode("utf8")
    if kind == "bad_meta":
        return json.dumps({"id": f"bad-{i}", "text": text, "meta": "x"}).encode("utf8")
    if kind == "duplicate_id":
        return json.dumps({"id": earlier_id, "text": text}).encode("utf8")
    raise ValueError(f"unknown bad record kind {kind!r}")


def build(n_docs: int, n_bad_per_kind: int, *, source: str = "test", max_sents: int = 3,
          seed: int = 0) -> Tuple[List[bytes], Dict[str, int]]:
    """JSONL lines: `n_docs` good records (EWT documents, cycled if the split has fewer)
    and `n_bad_per_kind` bad records of each kind at random places after the first good
    record with a string id. Returns (lines, expected dead letters by kind)."""
    docs = list(ewt_documents(EWT / f"en_ewt-ud-{source}.conllu", max_sents))
    lines: List[bytes] = []
    string_ids: List[Tuple[int, str]] = []  # (index among good records, id)
    for i in range(n_docs):
        doc_id, text = docs[i % len(docs)]
        if i >= len(docs):
            doc_id = f"{doc_id}~{i // len(docs)}"
        record = good_record(i, doc_id, text)
        if isinstance(record.get("id"), str):
            string_ids.append((i, record["id"]))
        lines.append(json.dumps(record, ensure_ascii=False).encode("utf8"))
    rng = random.Random(seed)
    bad = [(kind, j) for kind in BAD_KINDS for j in range(n_bad_per_kind)]
    rng.shuffle(bad)
    for k, (kind, _) in enumerate(bad):
        _, text = docs[rng.randrange(len(docs))]
        # a duplicate copies the id of a good record that is still before it: good record
        # g is at line g + (bad lines inserted so far) at most
        at = rng.randrange(1, len(lines) + 1)
        earlier = [s for g, s in string_ids if g + k < at] or [string_ids[0][1]]
        lines.insert(at, bad_record(kind, k, text, rng.choice(earlier)))
    return lines, {kind: n_bad_per_kind for kind in BAD_KINDS}


def write(path: Path, lines: List[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--docs", type=int, default=300, help="good records")
    parser.add_argument("--bad-per-kind", type=int, default=2)
    parser.add_argument("--max-sents", type=int, default=3)
    parser.add_argument("--source", default="test", choices=["test", "dev", "train"])
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    lines, bad = build(options.docs, options.bad_per_kind, source=options.source,
                       max_sents=options.max_sents, seed=options.seed)
    write(options.output, lines)
    print(f"{options.output}: {len(lines)} records, {sum(bad.values())} bad "
          f"({', '.join(f'{k}: {v}' for k, v in bad.items())}); run the job with "
          f"--max-chars {OVERSIZE_LIMIT}")


if __name__ == "__main__":
    main()
