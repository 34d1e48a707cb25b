"""The annotate job gives the same rows whatever its batching: token-count batching (small
budget: many buckets and batches), the default, and document-count batching from sorted
pools (--batch-tokens 0), on a corpus of short documents mixed with long ones that are
annotated in pieces, with en_ewt_sm (tagger, parser, NER: every column a batch could
disturb)."""
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs import annotate
from beam_jobs.pieces import PIECE_CHARS

SENTENCES = ["Apple Inc. sold 3 million phones in Paris last year.",
             "Mr. Smith didn't go to Washington, D.C. on Monday!",
             "\u201cWhy not?\u201d she asked (quietly).",
             "The U.S. economy grew by 2.5% according to the report.",
             "I would not recommend this place to anyone, the service was awful.",
             "Google's new office in London opens next week."]


def _plain(type_: pa.DataType) -> pa.DataType:
    """Dictionary-encoded strings as plain ones (each file has its own dictionary)."""
    if pa.types.is_dictionary(type_):
        return _plain(type_.value_type)
    if pa.types.is_list(type_):
        return pa.list_(_plain(type_.value_type))
    if pa.types.is_struct(type_):
        return pa.struct([field.with_type(_plain(field.type)) for field in type_])
    return type_


def _rows(output):
    files = sorted((output / "annotations").glob("part-*.parquet"))
    assert files, f"no annotations in {output}"
    table = pa.concat_tables([pq.read_table(f) for f in files])
    table = table.cast(pa.schema([f.with_type(_plain(f.type)) for f in table.schema]))
    return table.sort_by("doc_id")


@pytest.fixture(scope="module")
def mixed_corpus(tmp_path_factory):
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("mixed") / "mixed.jsonl"
    records = []
    for i in range(120):
        if i % 40 == 17:  # 3 long documents, of 1.2-2.5 pieces
            paragraphs = [" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(3, 8)))
                          for _ in range(rng.randint(60, 110))]
            text = "\n\n".join(paragraphs)
            assert len(text) > PIECE_CHARS
        else:
            text = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 6)))
        records.append({"id": f"d{i:03d}", "text": text})
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _run(corpus, output, *flags):
    summary = annotate.run(["--input", str(corpus), "--output", str(output),
                            "--model", "en_ewt_sm", "--runner=FnApiRunner",
                            "--direct_running_mode=in_memory", *flags])
    return summary, _rows(output)


@pytest.fixture(scope="module")
def by_documents(mixed_corpus, tmp_path_factory):
    """The run with document-count batching: sorted pools cut every 256 documents."""
    return _run(mixed_corpus, tmp_path_factory.mktemp("docs") / "out",
                "--batch-tokens", "0", "--batch-chars", "1000000000")


@pytest.mark.parametrize("flags", [["--batch-tokens", "300", "--batch-size", "7"], []],
                         ids=["small-token-batches", "default"])
def test_token_batching_gives_the_rows_of_document_batching(mixed_corpus, by_documents,
                                                            tmp_path, flags):
    docs_summary, by_docs = by_documents
    tokens_summary, by_tokens = _run(mixed_corpus, tmp_path / "out", *flags)
    assert by_docs.num_rows == 120
    assert by_tokens.equals(by_docs)
    for key in ("annotated", "tokens", "chars"):
        assert tokens_summary["counts"][key] == docs_summary["counts"][key]
