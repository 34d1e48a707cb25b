"""Raw English text for pretraining and distilling the shipped pipelines.

    python configs/raw_text.py OUT.jsonl --data ../shared/data [--rst-dir DIR ...]

Writes JSONL records `{"text": ...}`:
  * EWT train: the text of every 10 consecutive sentences as one record (no annotation is
    read; the `# text =` lines of the CoNLL-U file);
  * each `--rst-dir`: prose paragraphs of the reStructuredText files under it (`*.rst`,
    `*.rst.txt`), e.g. the Python documentation that Debian's `python3.11-doc` installs in
    /usr/share/doc/python3.11/html/_sources: another genre than EWT's web text. Code blocks,
    directives, tables and headings are dropped, inline markup is reduced to its text, and
    paragraphs are joined into records of about `--record-words` words. `--rst-words`
    caps the words taken from all such folders (files in sorted order), so that the mix
    stays mostly in EWT's genre unless asked otherwise.

EWT dev and test text are never included: dev picks the recipe, test reports it.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Iterator, List

import srsly

from nlp_core.formats.conllu import read_conllu_sentences

N_SENTS = 10
_ROLE = re.compile(r":[a-z:+-]+:`!?~?([^`<]*?)(?:\s*<[^>]*>)?`")   # :role:`text <target>`
_LITERAL = re.compile(r"``([^`]*)``")
_LINK = re.compile(r"`([^`<]*?)\s*<[^>]*>`_+")
_EMPHASIS = re.compile(r"\*\*?([^*]+)\*\*?")
_HEADING = re.compile(r"^([=\-~^\"'`#*+.:_])\1{3,}\s*$")


def ewt_records(conllu: Path) -> Iterator[str]:
    """The text (`# text = `) of every N_SENTS consecutive sentences of a CoNLL-U file."""
    texts = [sent.text.strip() for sent in read_conllu_sentences(conllu) if sent.text]
    for start in range(0, len(texts), N_SENTS):
        yield " ".join(texts[start:start + N_SENTS])


def _clean(paragraph: str) -> str:
    text = _ROLE.sub(r"\1", paragraph)
    text = _LINK.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\1", text)
    return re.sub(r"\s+", " ", text.replace("\\", "")).strip()


def _is_prose(text: str) -> bool:
    words = text.split()
    if len(words) < 8 or text.endswith("::"):
        return False
    letters = sum(c.isalpha() for c in text)
    return letters >= 0.7 * sum(not c.isspace() for c in text)


def rst_paragraphs(path: Path) -> Iterator[str]:
    """The prose paragraphs of one reStructuredText file, inline markup reduced to text."""
    lines = path.read_text(encoding="utf8", errors="replace").splitlines()
    block: List[str] = []
    for line in lines + [""]:
        if line.strip() and not line[0].isspace() and not line.startswith(".."):
            block.append(line)
            continue
        # a blank, indented (code, directive body, quote) or directive line ends a paragraph
        if block and not any(_HEADING.match(b) or b.lstrip().startswith(("|", "+", "* ", "- "))
                             for b in block):
            text = _clean(" ".join(block))
            if _is_prose(text):
                yield text
        block = []


def rst_records(roots: List[Path], max_words: int, record_words: int) -> Iterator[str]:
    """Paragraphs of the .rst files under `roots`, joined into records of about
    `record_words` words, `max_words` in all."""
    files = sorted(p for root in roots for p in root.rglob("*")
                   if p.is_file() and p.name.endswith((".rst", ".rst.txt")))
    record: List[str] = []
    taken = 0
    for path in files:
        for paragraph in rst_paragraphs(path):
            record.append(paragraph)
            taken += len(paragraph.split())
            if sum(len(p.split()) for p in record) >= record_words:
                yield " ".join(record)
                record = []
            if taken >= max_words:
                if record:
                    yield " ".join(record)
                return
    if record:
        yield " ".join(record)


def write_raw_text(output: Path, data: Path, rst_dirs: List[Path], rst_words: int,
                   record_words: int = 150) -> dict:
    """Write the records; returns {source: (records, words)}."""
    for root in rst_dirs:
        if not root.is_dir():
            raise SystemExit(f"--rst-dir {root}: not a directory (Debian's python3.11-doc "
                             "installs /usr/share/doc/python3.11/html/_sources)")
    counts = {}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    sources = [("ewt_train", ewt_records(data / "ud_english_ewt" / "en_ewt-ud-train.conllu"))]
    if rst_dirs:
        sources.append(("rst", rst_records(rst_dirs, rst_words, record_words)))
    with open(tmp, "w", encoding="utf8") as file_:
        for name, records in sources:
            n_records = n_words = 0
            for text in records:
                file_.write(srsly.json_dumps({"text": text}) + "\n")
                n_records += 1
                n_words += len(text.split())
            counts[name] = (n_records, n_words)
    tmp.replace(output)
    return counts


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared" / "data")
    parser.add_argument("--rst-dir", type=Path, action="append", default=[])
    parser.add_argument("--rst-words", type=int, default=400_000)
    parser.add_argument("--record-words", type=int, default=150)
    args = parser.parse_args(argv)
    counts = write_raw_text(args.output, args.data, args.rst_dir, args.rst_words,
                            args.record_words)
    for name, (records, words) in counts.items():
        print(f"raw text: {name}: {records} records, {words} words")


if __name__ == "__main__":
    main()
