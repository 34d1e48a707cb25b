"""The transformer pipeline's CPU inference settings side by side: words/s of `nlp.pipe`
with `[components.transformer] cpu_inference` = float32 (as trained), int8 and bfloat16
on the same texts in the same run, and each one's scores on gold data (issue 20, item 4).

    HF_HUB_OFFLINE=1 nice -n 5 python benchmarks/transformer_cpu_int8.py \\
        [PIPELINE] [--score DEV.spacy ...] [--speed-data TEXTS.spacy] [--limit 600] \\
        [--settings float32,int8,bfloat16] [--threads 1,2] [--passes 3] \\
        [--components transformer,tagger,parser] [--spacy-python /work/spacy-venv/bin/python]
        [--spacy-model TRAINED_SPACY_PIPELINE] [--output results.json]

PIPELINE (default: out/distill_accuracy/teacher/model-best, the MiniLM + tagger + upos +
parser + ner pipeline) is loaded once per setting with the setting as a load-time
override (`nlp_core.load(path, config={"components.transformer.cpu_inference": ...})`).

Speed: the raw texts of --speed-data (default: the first --score file), the first --limit
docs, through `nlp.pipe` (tokenizer included) with only --components enabled (default:
all), one untimed warm-up, then --passes rounds, each running every setting once in turn
(A, B, C, A, B, C, ...), for each torch thread count of --threads. The best pass of each
setting counts; ratios are against float32 of the same thread count. The machine is
shared, so absolute words/s are noisy; the interleaved ratios are the figures to read.

Scores: `nlp.evaluate` of each setting (full pipeline) on every --score file: tag_acc,
pos_acc, dep_uas, dep_las, ents_f when present, and the difference to float32 in points;
from raw text (each pipeline's tokenizer, aligned to the gold tokens) and, as `gold:`
rows, over the gold tokens one sentence per example (`gold_preproc`).

--spacy-python: the same speed passes with spaCy 3.8 + spacy-transformers in that Python:
transformer (the same MiniLM directory as PIPELINE's, doc_spans) + tagger + parser as
listeners (benchmarks/configs/transformer_ewt.cfg with spaCy's registered names), its heads
initialised from the first --score file and NOT trained: its words/s are for speed only,
its accuracy is meaningless and not reported. With --spacy-model, that spaCy side is a
trained spaCy pipeline instead (`spacy.load`, e.g. one trained from
benchmarks/configs/spacy_transformer_ewt.cfg), timed the same way with the components of
--components, and scored on the --score files by spaCy's own `nlp.evaluate`, both ways.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PIPELINE = ROOT / "out" / "distill_accuracy" / "teacher" / "model-best"
DEFAULT_DEV = ROOT / "out" / "distill_accuracy" / "corpus" / "dev.spacy"
SETTING = "components.transformer.cpu_inference"
SCORES = ("tag_acc", "pos_acc", "dep_uas", "dep_las", "ents_f")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline", nargs="?", default=str(DEFAULT_PIPELINE))
    parser.add_argument("--score", action="append", default=None,
                        help=f"gold .spacy file to score on (repeatable; default {DEFAULT_DEV})")
    parser.add_argument("--speed-data", default=None)
    parser.add_argument("--limit", type=int, default=0, help="speed docs (0: all)")
    parser.add_argument("--settings", default="float32,int8,bfloat16")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--components", default="",
                        help="components enabled for the speed passes (default: all)")
    parser.add_argument("--spacy-python", default=None)
    parser.add_argument("--spacy-model", default=None,
                        help="a trained spaCy pipeline directory for the spaCy side")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    args.score = args.score or [str(DEFAULT_DEV)]
    args.speed_data = args.speed_data or args.score[0]
    args.settings = [s for s in args.settings.split(",") if s]
    if "float32" not in args.settings:
        args.settings.insert(0, "float32")
    args.threads = [int(t) for t in args.threads.split(",") if t]
    for what, path in [("PIPELINE", args.pipeline)] + [("--score", s) for s in args.score] \
            + [("--speed-data", args.speed_data)]:
        if not Path(path).exists():
            parser.error(f"{what} {path} does not exist: give a trained transformer pipeline "
                         "directory (nlp.to_disk) and gold .spacy files (the defaults are "
                         "written by benchmarks/distill_accuracy.py's teacher run)")
    return args


def speed_texts(path: str, limit: int) -> list:
    from nlp_core.tokens import DocBin  # the benchmark's spaCy side never imports nlp_core

    docs = DocBin().from_disk(path).get_docs(_vocab())
    texts = [doc.text for doc in docs]
    return texts[:limit] if limit else texts


def _vocab():
    import nlp_core  # see speed_texts

    return nlp_core.blank("en").vocab


def load_settings(args) -> dict:
    import nlp_core  # see speed_texts

    return {s: nlp_core.load(args.pipeline, config={SETTING: s}) for s in args.settings}


def timed_passes(run_once, names, passes: int) -> dict:
    """{name: best seconds}, the names run in turn each pass after one warm-up of each."""
    for name in names:
        run_once(name)
    best = {name: float("inf") for name in names}
    for _ in range(passes):
        for name in names:
            start = time.perf_counter()
            run_once(name)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def measure_speed(args, pipelines: dict, texts: list) -> dict:
    import torch  # heavy; the transformer pipeline needs it anyway

    first = next(iter(pipelines.values()))
    enabled = [c for c in args.components.split(",") if c] or list(first.pipe_names)
    n_words = sum(len(doc) for doc in first.pipe(texts, batch_size=args.batch_size))

    def run_once(setting):
        nlp = pipelines[setting]
        with nlp.select_pipes(enable=enabled):
            for _ in nlp.pipe(texts, batch_size=args.batch_size):
                pass

    results = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        best = timed_passes(run_once, args.settings, args.passes)
        results[threads] = {s: {"words_per_s": round(n_words / sec), "seconds": round(sec, 3),
                                "ratio_vs_float32": round(best["float32"] / sec, 3)}
                            for s, sec in best.items()}
        print(f"threads {threads}: " + ", ".join(
            f"{s} {r['words_per_s']} w/s ({r['ratio_vs_float32']}x)"
            for s, r in results[threads].items()), flush=True)
    return {"docs": len(texts), "words": n_words, "components": enabled, "by_threads": results}


def measure_scores(args, pipelines: dict) -> dict:
    from nlp_core.training.corpus import Corpus  # see speed_texts

    results = {}
    for path in args.score:
        for gold in (False, True):
            per_setting = {}
            for setting, nlp in pipelines.items():
                scores = nlp.evaluate(list(Corpus(path, gold_preproc=gold)(nlp)))
                per_setting[setting] = _percent(scores)
            base = per_setting["float32"]
            for setting, row in per_setting.items():
                row.update({f"{k}_delta": round(row[k] - base[k], 2) for k in list(row)})
                print(f"{_label(path, gold)} {setting}: {row}", flush=True)
            results[_label(path, gold)] = per_setting
    return results


def _percent(scores: dict) -> dict:
    return {k: round(scores[k] * 100, 2) for k in SCORES if isinstance(scores.get(k), float)}


def _label(path: str, gold: bool) -> str:
    return ("gold:" if gold else "") + path


def spacy_speed(args, texts: list, model_dir: str) -> dict:
    """Run this file's `spacy_side` under --spacy-python: {threads: words/s}."""
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"texts": texts, "model": model_dir, "dev": args.score[0],
                                   "threads": args.threads, "passes": args.passes,
                                   "batch_size": args.batch_size, "trained": args.spacy_model,
                                   "components": args.components, "score": args.score}))
        done = subprocess.run([args.spacy_python, __file__, "--spacy-side", str(job)],
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the spaCy side failed under {args.spacy_python}:\n"
                         f"{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def spacy_side(job_path: str) -> None:
    """Under spaCy's Python: words/s of transformer + tagger + parser, heads untrained, or of
    the trained pipeline `job["trained"]` (then with its scores)."""
    import spacy
    import torch

    job = json.loads(Path(job_path).read_text())
    if job["trained"]:
        _trained_spacy_side(job)
        return
    from spacy.training import Corpus

    listener = {"@architectures": "spacy-transformers.TransformerListener.v1",
                "grad_factor": 1.0, "pooling": {"@layers": "reduce_mean.v1"}}
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config={"max_batch_items": 4096, "model": {
        "@architectures": "spacy-transformers.TransformerModel.v3", "name": job["model"],
        "tokenizer_config": {"use_fast": True},
        "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}})
    nlp.add_pipe("tagger", config={"model": {"@architectures": "spacy.Tagger.v2",
                                             "tok2vec": listener}})
    nlp.add_pipe("parser", config={"min_action_freq": 30, "model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "parser",
        "extra_state_tokens": False, "hidden_width": 128, "maxout_pieces": 3,
        "use_upper": True, "tok2vec": listener}})
    corpus = Corpus(job["dev"])
    nlp.initialize(lambda: corpus(nlp))
    texts = job["texts"]
    n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=job["batch_size"]))
    out = {}
    for threads in job["threads"]:
        torch.set_num_threads(threads)
        best = timed_passes(lambda _: list(nlp.pipe(texts, batch_size=job["batch_size"])),
                            ["spacy"], job["passes"])["spacy"]
        out[threads] = round(n_words / best)
    print(json.dumps({"words": n_words, "words_per_s": out}))


def _trained_spacy_side(job: dict) -> None:
    import spacy
    import torch
    from spacy.training import Corpus

    nlp = spacy.load(job["trained"])
    enabled = [c for c in job["components"].split(",") if c] or list(nlp.pipe_names)
    texts = job["texts"]

    def run(_):
        with nlp.select_pipes(enable=enabled):
            return list(nlp.pipe(texts, batch_size=job["batch_size"]))

    n_words = sum(len(doc) for doc in run(None))
    out = {}
    for threads in job["threads"]:
        torch.set_num_threads(threads)
        out[threads] = round(n_words / timed_passes(run, ["spacy"], job["passes"])["spacy"])
    scores = {}
    for path in job["score"] or ():
        for gold in (False, True):
            result = nlp.evaluate(list(Corpus(path, gold_preproc=gold)(nlp)))
            scores[_label(path, gold)] = _percent(result)
    print(json.dumps({"words": n_words, "words_per_s": out, "components": enabled,
                      "scores": scores}))


def main(argv=None) -> None:
    args = parse_args(argv)
    pipelines = load_settings(args)
    texts = speed_texts(args.speed_data, args.limit)
    result = {"pipeline": args.pipeline, "settings": args.settings,
              "speed": measure_speed(args, pipelines, texts),
              "scores": measure_scores(args, pipelines)}
    if args.spacy_python:
        model_dir = str(Path(args.pipeline) / "transformer" / "model")
        spacy = spacy_speed(args, texts, model_dir)
        ours = result["speed"]["by_threads"]
        spacy["ours_over_spacy"] = {
            str(t): {s: round(ours[t][s]["words_per_s"] / w, 3) for s in ours[t]}
            for t, w in ((int(k), v) for k, v in spacy["words_per_s"].items())}
        if not args.spacy_model:
            spacy["note"] = "spaCy heads untrained: speed only"
        result["spacy_transformers"] = spacy
        print(f"spacy-transformers: {spacy}", flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--spacy-side":
        spacy_side(sys.argv[2])
    else:
        main()
