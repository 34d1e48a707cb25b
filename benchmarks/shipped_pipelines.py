"""The shipped pipelines next to spaCy's en_core_web_sm on the same test files (issue 19,
item 3): accuracy scored by the project's scorer, and inference words/s in the same run.

    OPENBLAS_NUM_THREADS=1 nice -n 5 python benchmarks/shipped_pipelines.py \\
        [--models en_ewt_sm out/new/model-last ...] [--spacy-model en_core_web_sm] \\
        [--spacy-python /work/spacy-venv/bin/python] [--data ../shared/data] \\
        [--corpus DIR] [--passes 3] [--min-pass-seconds 3] [--json OUT] \\
        [--spacy-disable lemmatizer] [--trf-batch-size 32]

Test files: UD English EWT test with gold tokens (the CoNLL-U file, one sentence a Doc),
the same test set as raw text and UNER English-EWT test as raw text (the .spacy files of
`configs/build_en_ewt_sm.py --steps prepare`, in WORK/corpus unless --corpus names them;
made there when missing); and one more, not in build_en_ewt_sm's score: UNER test as raw
text one sentence a Doc (the issue's 54.6 / 56.6 were measured so; a 10-sentence Doc
gives a model context across sentence boundaries, which changes its entity F).

Ours (--models; default: every pipeline shipped in nlp_core/models/, and en_ewt_sm is
always added as the speed baseline): scored by `build_en_ewt_sm.score`, as the shipped
en_ewt_sm is scored.

spaCy (--spacy-model, run by benchmarks/spacy_shipped_side.py under --spacy-python):
annotates the same gold-token sentences (a spaCy Doc of exactly those words and spaces,
then the pipeline's components) and the same raw texts with its own tokenizer, written as
.spacy DocBins; this process reads them back (checking that tags, POS, heads, labels,
entities and sentence starts survived the DocBin) and scores them against the same gold
Docs with the same scorer functions our components use (raw text aligned by characters, as
`evaluate` does). Entities: --ent-map (default PERSON->PER, ORG->ORG, GPE->LOC, LOC->LOC;
every other label dropped); FAC->LOC is also scored, as a second figure. en_core_web_sm's
labels are ClearNLP dependencies, not UD: its LAS is not comparable (n/a) and its UAS is
shown for reference only (head conventions differ: UD attaches function words to content
words).

Speed: words/s over the EWT test raw-text documents (words = tokens of each side's own
tokenizer), every model in its own process, loaded before timing, one untimed warm-up pass
each, then --passes passes interleaved (the order rotated each pass), best pass counted;
a pass runs over the texts again until it has lasted --min-pass-seconds (default 3), so
that fast and slow pipelines are timed over windows of similar length on a busy machine;
ratios to en_ewt_sm and to en_core_web_sm from the same run. Every process runs with
OPENBLAS/OMP/MKL_NUM_THREADS=1 and torch at one thread. The machine is shared: absolute
figures are noisy, ratios less so. Work files under out/shipped_bench/ (--work).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "configs"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_en_ewt_sm as build  # noqa: E402
import spacy_shipped_side as side  # noqa: E402

BASELINE = "en_ewt_sm"
# build_en_ewt_sm.score's runs, then one more: UNER test as raw text one sentence a Doc
# (what an earlier, independent measurement of en_core_web_sm scored)
EXTRA_RUN = "uner_test_raw_sentences"
DEFAULT_ENT_MAP = "PERSON=PER,ORG=ORG,GPE=LOC,LOC=LOC"
SECOND_ENT_MAP = DEFAULT_ENT_MAP + ",FAC=LOC"
THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "HF_HUB_OFFLINE": "1"}
# (row label, run, score key); LAS-type rows are n/a for a pipeline with other labels
ROWS = [("XPOS", "ewt_test_gold_tokens", "tag_acc"),
        ("UPOS", "ewt_test_gold_tokens", "pos_acc"),
        ("UAS", "ewt_test_gold_tokens", "dep_uas"),
        ("LAS", "ewt_test_gold_tokens", "dep_las"),
        ("tokens F (raw text)", "ewt_test_raw_text", "token_f"),
        ("XPOS (raw text)", "ewt_test_raw_text", "tag_acc"),
        ("UAS (raw text)", "ewt_test_raw_text", "dep_uas"),
        ("LAS (raw text)", "ewt_test_raw_text", "dep_las"),
        ("sentences F (raw text)", "ewt_test_raw_text", "sents_f"),
        ("UNER P (raw text)", "uner_test_raw_text", "ents_p"),
        ("UNER R (raw text)", "uner_test_raw_text", "ents_r"),
        ("UNER F (raw text)", "uner_test_raw_text", "ents_f"),
        ("UNER F (raw text, one sentence a doc)", EXTRA_RUN, "ents_f")]


def parse_ent_map(text: str) -> Dict[str, str]:
    pairs = [item.split("=") for item in text.split(",") if item.strip()]
    if not pairs or any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise SystemExit(f"--ent-map {text!r}: write SPACY_LABEL=OUR_LABEL pairs joined by "
                         f"commas, e.g. {DEFAULT_ENT_MAP}")
    return {k.strip(): v.strip() for k, v in pairs}


def resolve_models(names: List[str]) -> List[Tuple[str, Path]]:
    """(label, pipeline directory) of every --models entry, the baseline first."""
    from nlp_core.loading import SHIPPED_PIPELINES, shipped_pipelines

    shipped = shipped_pipelines()
    names = names or shipped
    if BASELINE not in names:
        names = [BASELINE, *names]
    models, labels = [], set()
    for name in names:
        path = Path(name) if Path(name).exists() else SHIPPED_PIPELINES / name
        if not (path / "config.cfg").is_file():
            raise SystemExit(f"--models {name}: neither a pipeline directory (with "
                             f"config.cfg) nor a shipped pipeline ({', '.join(shipped)})")
        label = name if name in shipped and not Path(name).exists() else str(name)
        if label in labels:
            raise SystemExit(f"--models names {label} twice")
        labels.add(label)
        models.append((label, path.resolve()))
    return models


def slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")


def ensure_corpus(data: Path, corpus: Path) -> None:
    needed = [corpus / "ewt-test.spacy", corpus / "uner-test.spacy"]
    if all(p.is_file() for p in needed):
        return
    print(f"prepare: {corpus} lacks the test files; running build_en_ewt_sm's prepare",
          flush=True)
    build.prepare(data, corpus)


def uner_sentences(data: Path, work: Path) -> Path:
    """UNER EWT test, one sentence a Doc, as WORK/uner-test-sentences.spacy."""
    from nlp_core.formats.iob import read_iob
    from nlp_core.tokens import DocBin
    from nlp_core.vocab import Vocab

    path = work / "uner-test-sentences.spacy"
    docs = list(read_iob(data / "uner_english_ewt" / "en_ewt-ud-test.iob2", vocab=Vocab(),
                         n_sents=1))
    DocBin(docs=docs, store_user_data=False).to_disk(path)
    return path


def references(data: Path, corpus: Path, sentences: Path) -> Dict[str, list]:
    """The gold Docs of each run, as `evaluate` builds its Examples from the same files."""
    import nlp_core
    from nlp_core.training.corpus import Corpus

    nlp = nlp_core.blank("en")
    conllu = data / "ud_english_ewt" / "en_ewt-ud-test.conllu"
    return {
        "ewt_test_gold_tokens": [eg.reference for eg in Corpus(conllu, gold_preproc=True)(nlp)],
        "ewt_test_raw_text": list(Corpus(corpus / "ewt-test.spacy").read_references(nlp)),
        "uner_test_raw_text": list(Corpus(corpus / "uner-test.spacy").read_references(nlp)),
        EXTRA_RUN: list(Corpus(sentences).read_references(nlp)),
    }


def score_ours(models: List[Tuple[str, Path]], data: Path, corpus: Path, sentences: Path,
               work: Path) -> Dict[str, Dict]:
    from nlp_core.cli.evaluate import evaluate

    results = {}
    for label, path in models:
        out = work / "scores" / slug(label)
        out.mkdir(parents=True, exist_ok=True)
        print(f"score: {label} ({path}), evaluate's tables in {out / 'evaluate.log'}",
              flush=True)
        with open(out / "evaluate.log", "w", encoding="utf8") as log, \
                contextlib.redirect_stdout(log):
            results[label] = build.score(data, corpus, path, out)
            results[label][EXTRA_RUN] = evaluate(str(path), sentences,
                                                 output=out / f"{EXTRA_RUN}.json")
    return results


def annotate_spacy(options, refs: Dict[str, list], work: Path) -> Dict[str, Any]:
    """Run spacy_shipped_side.py annotate on the references' tokens / texts."""
    inputs, out = work / "spacy_inputs", work / "spacy_predicted"
    inputs.mkdir(parents=True, exist_ok=True)
    for run, docs in refs.items():
        with open(inputs / f"{run}.jsonl", "w", encoding="utf8") as file_:
            for doc in docs:
                record = {"words": doc.token_texts(),
                          "spaces": [bool(s) for s in doc.column("trailing_space").tolist()]} \
                    if run == "ewt_test_gold_tokens" else {"text": doc.text}
                file_.write(json.dumps(record) + "\n")
    command = [options.spacy_python, str(Path(side.__file__).resolve()), "annotate",
               "--model", options.spacy_model, "--inputs", str(inputs), "--out", str(out),
               "--batch-size", str(options.batch_size), "--disable", options.spacy_disable]
    print("spacy:", " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, **THREAD_ENV})
    replies = [json.loads(line[len(side.PREFIX):]) for line in done.stdout.splitlines()
               if line.startswith(side.PREFIX)]
    if done.returncode != 0 or not replies:
        raise SystemExit(f"the spaCy side failed ({' '.join(command)}):\n{done.stderr[-3000:]}")
    return {"info": replies[-1], "dir": out}


def read_predictions(out: Path, run: str, vocab) -> list:
    """spaCy's Docs of one run, checked against the values spaCy wrote beside them."""
    from nlp_core.tokens import DocBin

    docs = list(DocBin().from_disk(out / f"{run}.spacy").get_docs(vocab))
    with open(out / f"{run}.check.jsonl", encoding="utf8") as file_:
        rows = [json.loads(line) for line in file_]
    if len(rows) != len(docs):
        raise SystemExit(f"{out / run}.spacy holds {len(docs)} docs, its check file {len(rows)}")
    for n, (doc, row) in enumerate(zip(docs, rows)):
        ours = {"text": doc.text, "tag": [t.tag_ for t in doc], "pos": [t.pos_ for t in doc],
                "head": [t.head.i for t in doc], "dep": [t.dep_ for t in doc],
                "ent_iob": [t.ent_iob_ for t in doc], "ent_type": [t.ent_type_ for t in doc],
                "sent_start": [bool(t.is_sent_start) for t in doc]}
        for key, value in row.items():
            if ours[key] != value:
                raise SystemExit(f"{out / run}.spacy doc {n}: {key} differs after reading "
                                 f"spaCy's DocBin: ours {ours[key][:20]} spaCy {value[:20]}")
    return docs


def score_predictions(refs: Dict[str, list], out: Path, ent_map: Dict[str, str],
                      second_map: Dict[str, str]) -> Dict[str, Dict]:
    """Our scorers over spaCy's Docs against the gold Docs (see the module docstring)."""
    from nlp_core.pipeline.ner import ner_score
    from nlp_core.pipeline.parser import parser_score
    from nlp_core.pipeline.tagger import tagger_score
    from nlp_core.training.example import Example
    from nlp_core.training.scorer import score_tokenization

    results = {}
    for run, gold in refs.items():
        predicted = read_predictions(out, run, gold[0].vocab)
        if len(predicted) != len(gold):
            raise SystemExit(f"spaCy returned {len(predicted)} docs for {run}, not {len(gold)}")
        examples, misaligned = [], 0
        for pred, ref in zip(predicted, gold):
            if pred.text != ref.text:
                raise SystemExit(f"{run}: spaCy's doc text differs from the gold text "
                                 f"({pred.text[:60]!r} / {ref.text[:60]!r})")
            example = Example(pred, ref)
            try:
                example.alignment  # noqa: B018  (skipped as Corpus skips it)
            except ValueError:
                misaligned += 1
                continue
            examples.append(example)
        original = [[(e.label_, e.start, e.end) for e in eg.predicted.ents] for eg in examples]
        scores = dict(score_tokenization(examples))
        scores.update(tagger_score(examples, attr="tag"))
        scores.update(tagger_score(examples, attr="pos"))
        scores.update(parser_score(examples))
        second = ner_score(map_entities(examples, original, second_map))
        scores.update(ner_score(map_entities(examples, original, ent_map)))
        scores["ents_f_second_map"] = second["ents_f"]
        scores["misaligned_docs"] = misaligned
        results[run] = scores
    return results


def map_entities(examples: List, original: List[List[Tuple[str, int, int]]],
                 labels: Dict[str, str]) -> List:
    """Set each predicted Doc's entities to its `original` (label, start, end) ones with
    the labels mapped by `labels`, the others dropped; returns the examples."""
    for eg, ents in zip(examples, original):
        eg.predicted.ents = [(labels[lab], s, e) for lab, s, e in ents if lab in labels]
    return examples


class Worker:
    """One model's speed process (spacy_shipped_side.serve's protocol)."""

    def __init__(self, label: str, command: List[str], log: Path):
        self.label, self.log = label, log
        self.stderr = open(log, "w", encoding="utf8")  # noqa: SIM115  (closed in close())
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr, text=True,
                                        env={**os.environ, **THREAD_ENV})

    def read(self) -> Dict[str, Any]:
        for line in self.process.stdout:
            if line.startswith(side.PREFIX):
                return json.loads(line[len(side.PREFIX):])
        raise SystemExit(f"the speed process of {self.label} ended early: see {self.log}")

    def run_pass(self, min_seconds: float = 0.0) -> Dict[str, Any]:
        self.process.stdin.write(f"pass {min_seconds}\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):   # died meanwhile, or hangs
                self.process.kill()
                self.process.wait()
        self.stderr.close()


def speed(options, models: List[Tuple[str, Path]], texts: List[str], work: Path,
          spacy_label: str) -> Dict[str, Dict]:
    texts_path = work / "speed_texts.json"
    texts_path.write_text(json.dumps(texts), encoding="utf8")
    commands = {label: [sys.executable, str(Path(__file__).resolve()), "--serve-worker",
                        str(path), "--texts", str(texts_path), "--batch-size",
                        str(options.batch_size), "--trf-batch-size", str(options.trf_batch_size)]
                for label, path in models}
    if spacy_label:
        commands[spacy_label] = [
            options.spacy_python, str(Path(side.__file__).resolve()), "serve", "--model",
            options.spacy_model, "--texts", str(texts_path), "--batch-size",
            str(options.batch_size), "--disable", options.spacy_disable]
    workers = {label: Worker(label, cmd, work / f"speed_{slug(label)}.log")
               for label, cmd in commands.items()}
    try:
        info = {label: w.read() for label, w in workers.items()}
        for worker in workers.values():   # warm-up, untimed
            worker.run_pass()
        passes: Dict[str, List[Dict]] = {label: [] for label in workers}
        order = list(workers)
        for n in range(options.passes):
            for label in order[n % len(order):] + order[:n % len(order)]:
                passes[label].append(workers[label].run_pass(options.min_pass_seconds))
    finally:
        for worker in workers.values():
            worker.close()
    result = {}
    for label, runs in passes.items():
        best = max(r["words"] / r["seconds"] for r in runs)
        result[label] = {"words_per_s": best, "words": runs[0]["words"] // runs[0]["repeats"],
                         "repeats": [r["repeats"] for r in runs],
                         "passes_words_per_s": [r["words"] / r["seconds"] for r in runs],
                         "batch_size": info[label].get("batch_size", options.batch_size)}
    for entry in result.values():
        entry["ratio_to_en_ewt_sm"] = entry["words_per_s"] / result[BASELINE]["words_per_s"]
        if spacy_label:
            entry["ratio_to_spacy"] = entry["words_per_s"] / result[spacy_label]["words_per_s"]
    return result


def serve_worker(options) -> None:
    """`--serve-worker PATH`: our side of the speed protocol."""
    import nlp_core

    nlp = nlp_core.load(options.serve_worker)
    side.one_torch_thread()
    components = nlp.config.get("components", {})
    is_trf = any(c.get("factory") in ("transformer", "curated_transformer")
                 for c in components.values())
    batch_size = options.trf_batch_size if is_trf else options.batch_size
    texts = json.loads(Path(options.texts).read_text(encoding="utf8"))

    def count_words(batch: List[str]) -> int:
        return sum(len(doc) for doc in nlp.pipe(batch, batch_size=batch_size))

    side.serve(count_words, texts, {"batch_size": batch_size, "transformer": is_trf})


def fmt(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def table(labels: List[str], scores: Dict[str, Dict], speeds: Dict[str, Dict],
          spacy_label: str) -> str:
    lines = ["| score | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for row, run, key in ROWS:
        cells = []
        for label in labels:
            value = scores.get(label, {}).get(run, {}).get(key)
            if label == spacy_label and key == "dep_las":
                cells.append("n/a")
            elif label == spacy_label and key == "dep_uas":
                cells.append(f"({fmt(value)})")
            else:
                cells.append(fmt(value))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    if speeds:
        lines.append("| words/s | " + " | ".join(
            f"{speeds[m]['words_per_s']:,.0f}" if m in speeds else "-" for m in labels) + " |")
        lines.append(f"| ratio to {BASELINE} | " + " | ".join(
            f"{speeds[m]['ratio_to_en_ewt_sm']:.2f}x" if m in speeds else "-"
            for m in labels) + " |")
        if spacy_label:
            lines.append(f"| ratio to {spacy_label} | " + " | ".join(
                f"{speeds[m]['ratio_to_spacy']:.2f}x" if m in speeds else "-"
                for m in labels) + " |")
        lines.append("| words (own tokenizer) | " + " | ".join(
            f"{speeds[m]['words']:,}" if m in speeds else "-" for m in labels) + " |")
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=[],
                        help="our pipelines: shipped names or directories (default: every "
                             "shipped pipeline); en_ewt_sm is always added as the baseline")
    parser.add_argument("--spacy-model", default="en_core_web_sm",
                        help="spaCy pipeline to compare ('' for none)")
    parser.add_argument("--spacy-python", default="/work/spacy-venv/bin/python")
    parser.add_argument("--spacy-disable", default="",
                        help="comma-separated components of the spaCy pipeline not to run "
                             "(e.g. lemmatizer, which our pipelines lack)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=REPO / "out" / "shipped_bench")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="folder with ewt-test.spacy and uner-test.spacy (default: "
                             "WORK/corpus, prepared there when missing)")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--min-pass-seconds", type=float, default=3.0,
                        help="a timed pass repeats the texts until this long")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--trf-batch-size", type=int, default=32,
                        help="batch size of our pipelines with a transformer")
    parser.add_argument("--ent-map", default=DEFAULT_ENT_MAP,
                        help="spaCy entity label -> UNER label; other labels are dropped")
    parser.add_argument("--no-speed", action="store_true", help="accuracy only")
    parser.add_argument("--json", type=Path, default=None,
                        help="write every figure here (default: WORK/shipped_pipelines.json)")
    parser.add_argument("--serve-worker", help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.serve_worker:
        serve_worker(options)
        return
    if options.passes < 1:
        parser.error("--passes must be at least 1")
    ent_map = parse_ent_map(options.ent_map)
    second_map = {**ent_map, "FAC": "LOC"}
    work = options.work
    work.mkdir(parents=True, exist_ok=True)
    corpus = options.corpus or work / "corpus"
    models = resolve_models(options.models)
    ensure_corpus(options.data, corpus)
    sentences = uner_sentences(options.data, work)
    refs = references(options.data, corpus, sentences)
    spacy_label = options.spacy_model and options.spacy_model + "".join(
        f" w/o {c}" for c in options.spacy_disable.split(",") if c)
    scores = score_ours(models, options.data, corpus, sentences, work)
    spacy_info: Dict[str, Any] = {}
    if spacy_label:
        annotated = annotate_spacy(options, refs, work)
        spacy_info = annotated["info"]
        print(f"score: {spacy_label} ({spacy_info['model']} {spacy_info['version']})",
              flush=True)
        scores[spacy_label] = score_predictions(refs, annotated["dir"], ent_map, second_map)
    speeds: Dict[str, Dict] = {}
    load = {"before": os.getloadavg()}
    if not options.no_speed:
        texts = [doc.text for doc in refs["ewt_test_raw_text"]]
        speeds = speed(options, models, texts, work, spacy_label)
    load["after"] = os.getloadavg()
    labels = [label for label, _ in models] + ([spacy_label] if spacy_label else [])
    print(table(labels, scores, speeds, spacy_label))
    if spacy_label:
        print(f"\n{spacy_label}: {spacy_info['model']} {spacy_info['version']}; entity labels "
              f"{options.ent_map} (others dropped); with FAC=LOC too, UNER F "
              f"{fmt(scores[spacy_label]['uner_test_raw_text']['ents_f_second_map'])}; "
              "LAS n/a and UAS in brackets: ClearNLP dependencies, not UD")
    print(f"load average (1/5/15 min) before {load['before']}, after {load['after']}; "
          f"{os.cpu_count()} CPUs")
    output = options.json or work / "shipped_pipelines.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([sys.executable, *sys.argv]),
        "cpus": os.cpu_count(), "load_average": load, "threads": THREAD_ENV,
        "models": {label: str(path) for label, path in models},
        "spacy": {"label": spacy_label, **spacy_info, "disabled": options.spacy_disable,
                  "ent_map": ent_map,
                  "second_ent_map": second_map,
                  "not_comparable": "LAS (ClearNLP labels); UAS head conventions differ"},
        "scores": scores, "speed": speeds, "table": table(labels, scores, speeds, spacy_label),
    }, indent=2, default=str), encoding="utf8")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
