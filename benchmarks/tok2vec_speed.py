"""Tok2Vec speed: nlp_core's Tok2Vec.v2 against spaCy's spacy.Tok2Vec.v2, same widths, same
tokens.

    python benchmarks/tok2vec_speed.py [--threads N] [--repeats 3] [--width 96] [--depth 4]

Texts are the `# text` lines of UD English EWT dev, tokenized once with nlp_core's English
tokenizer (whitespace split when it is unavailable); both libraries get those same token
lists. Ours runs in this process; spaCy's runs in a subprocess with the side virtualenv
(SPACY_PYTHON, default /work/spacy-venv/bin/python). Timed, best of --repeats:

- inference: `model.predict(docs)` over batches of --infer-batch docs (nlp.pipe's default
  batch size is 1000);
- training: `begin_update(docs)` + backprop of a gradient of ones over batches of about
  --train-batch words, with dropout 0.1 as in training (no optimizer step).

--threads limits the BLAS threads of both processes (unset: library defaults).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = Path("/work/shared/data/ud_english_ewt/en_ewt-ud-dev.conllu")
SPACY_PYTHON = os.environ.get("SPACY_PYTHON", "/work/spacy-venv/bin/python")
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS")

CONFIG = """
[model]
@architectures = "{prefix}.Tok2Vec.v2"

[model.embed]
@architectures = "{prefix}.MultiHashEmbed.v2"
width = {width}
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
include_static_vectors = false

[model.encode]
@architectures = "{prefix}.MaxoutWindowEncoder.v2"
width = {width}
depth = {depth}
window_size = 1
maxout_pieces = 3
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--width", type=int, default=96)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--infer-batch", type=int, default=1000, help="docs per predict batch")
    p.add_argument("--train-batch", type=int, default=1000, help="words per update batch")
    p.add_argument("--worker", choices=["ours", "spacy"], default=None, help=argparse.SUPPRESS)
    p.add_argument("--words", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def load_words():
    texts = [line[len("# text = "):].strip() for line in DEV.open(encoding="utf8")
             if line.startswith("# text = ")]
    try:
        sys.path.insert(0, str(ROOT))
        from nlp_core.lang import get_lang_defaults
        from nlp_core.tokenizer import create_tokenizer
        from nlp_core.vocab import Vocab

        tokenizer = create_tokenizer(Vocab(lang="en"), get_lang_defaults("en"))
        return [[t.text for t in tokenizer(text)] for text in texts], "nlp_core tokenizer"
    except ImportError:
        return [text.split() for text in texts], "whitespace split"


def batches_by_docs(docs, size):
    return [docs[i: i + size] for i in range(0, len(docs), size)]


def batches_by_words(docs, size):
    out, batch, n = [], [], 0
    for doc in docs:
        batch.append(doc)
        n += len(doc)
        if n >= size:
            out.append(batch)
            batch, n = [], 0
    if batch:
        out.append(batch)
    return out


def time_model(model, docs, args, set_dropout_rate):
    n_words = sum(len(d) for d in docs)
    infer = batches_by_docs(docs, args.infer_batch)
    train = batches_by_words(docs, args.train_batch)
    model.predict(infer[0])  # warm-up
    best_infer = best_train = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        for batch in infer:
            model.predict(batch)
        best_infer = min(best_infer, time.perf_counter() - start)
        set_dropout_rate(model, 0.1)
        start = time.perf_counter()
        for batch in train:
            Y, backprop = model.begin_update(batch)
            backprop([y * 0 + 1 for y in Y])
        best_train = min(best_train, time.perf_counter() - start)
        set_dropout_rate(model, 0.0)
    return {"words": n_words, "infer_wps": n_words / best_infer,
            "train_wps": n_words / best_train}


def run_ours(words, args):
    sys.path.insert(0, str(ROOT))
    from thinc.api import Config, fix_random_seed, set_dropout_rate

    import nlp_core.ml  # noqa: F401  (registers the architectures)
    from nlp_core.registry import registry
    from nlp_core.tokens.doc import Doc
    from nlp_core.vocab import Vocab

    fix_random_seed(0)
    vocab = Vocab(lang="en")
    docs = [Doc(vocab, words=w) for w in words]
    config = Config().from_str(CONFIG.format(prefix="nlp_core", width=args.width,
                                             depth=args.depth))
    model = registry.resolve(config)["model"]
    model.initialize(X=docs[:100])
    return time_model(model, docs, args, set_dropout_rate)


def run_spacy(words, args):
    import spacy
    from spacy.tokens import Doc
    from spacy.util import registry
    from thinc.api import Config, fix_random_seed, set_dropout_rate

    fix_random_seed(0)
    nlp = spacy.blank("en")
    docs = [Doc(nlp.vocab, words=w) for w in words]
    config = Config().from_str(CONFIG.format(prefix="spacy", width=args.width,
                                             depth=args.depth))
    model = registry.resolve(config)["model"]
    model.initialize(X=docs[:100])
    result = time_model(model, docs, args, set_dropout_rate)
    result["version"] = spacy.__version__
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        words = json.loads(Path(args.words).read_text(encoding="utf8"))
        result = run_ours(words, args) if args.worker == "ours" else run_spacy(words, args)
        print(json.dumps(result))
        return
    words, tokenization = load_words()
    env = dict(os.environ)
    if args.threads:
        env.update({var: str(args.threads) for var in THREAD_VARS})
    passthrough = [f"--repeats={args.repeats}", f"--width={args.width}",
                   f"--depth={args.depth}", f"--infer-batch={args.infer_batch}",
                   f"--train-batch={args.train_batch}"]
    with tempfile.TemporaryDirectory() as tmp:
        words_path = Path(tmp) / "words.json"
        words_path.write_text(json.dumps(words), encoding="utf8")
        results = {}
        for name, python in (("ours", sys.executable), ("spacy", SPACY_PYTHON)):
            cmd = [python, __file__, f"--worker={name}", f"--words={words_path}", *passthrough]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                sys.exit(f"{name} worker failed:\n{out.stderr[-3000:]}")
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    ours, theirs = results["ours"], results["spacy"]
    threads = args.threads or "library default"
    print(f"EWT dev: {ours['words']} words, {len(words)} docs ({tokenization}); "
          f"width {args.width}, depth {args.depth}; BLAS threads: {threads}; "
          f"spaCy {theirs.get('version')}")
    print(f"{'':28}{'nlp_core':>12}{'spaCy':>12}{'ratio':>8}")
    for key, label in (("infer_wps", f"inference (batch {args.infer_batch} docs)"),
                       ("train_wps", f"fwd+bwd (batch ~{args.train_batch} words)")):
        print(f"{label:28}{ours[key]:>12,.0f}{theirs[key]:>12,.0f}"
              f"{ours[key] / theirs[key]:>7.2f}x")


if __name__ == "__main__":
    main()
