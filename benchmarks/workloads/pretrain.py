"""Pretraining words/s: each library's `pretrain` command, characters objective, on the EWT
train text (the `# text = ` lines, one JSONL record each), same config widths on both
sides: the efficiency tagger config each library's `init config` writes (tok2vec:
MultiHashEmbed NORM/PREFIX/SUFFIX/SHAPE, rows 5000/1000/2500/2500, width 96,
MaxoutWindowEncoder depth 4) filled with `init fill-config --pretraining` (objective
spacy.PretrainCharacters.v1, maxout_pieces 3, hidden_size 300, n_characters 4; batches of
3,000 words; Adam 0.001), run for --pretraining.max_epochs EPOCHS.

Each side runs its CLI twice in subprocesses: on the whole text and on its first 50
records; words/s = (words of the full run - words of the small one) / (wall of the full
run - wall of the small one), which takes out start-up, model initialisation and saving.
Words are the tokens the run trained on (documents of 5 to 499 tokens, each library's own
tokenizer): ours from log.jsonl, spaCy's counted with spaCy's own JsonlCorpus reader.

Note the objectives' work differs: spaCy runs the output layer on every token (the loss
gradient is masked afterwards) and predicts n_characters bytes in all; ours runs it on
the masked 15% only and predicts n_characters bytes from each end (the seed's definition).

Environment knobs: NLP_CORE_BENCH_PRETRAIN_EPOCHS (default 1).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import EWT, conllu_texts

TRAIN = EWT / "en_ewt-ud-train.conllu"
EPOCHS = int(os.environ.get("NLP_CORE_BENCH_PRETRAIN_EPOCHS", 1))
SMALL = 50


def _write_texts(directory: Path):
    texts = conllu_texts(TRAIN)
    paths = {}
    for name, part in (("full", texts), ("small", texts[:SMALL])):
        paths[name] = directory / f"{name}.jsonl"
        with open(paths[name], "w", encoding="utf8") as out:
            for text in part:
                out.write(json.dumps({"text": text}) + "\n")
    return paths


def _timed(command) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def _measure(cli, config: Path, directory: Path, texts, count_words) -> dict:
    runs = {}
    for name in ("small", "full"):
        out = directory / f"out_{name}"
        seconds = _timed([*cli, "pretrain", str(config), str(out), "--paths.raw_text",
                          str(texts[name]), "--pretraining.max_epochs", str(EPOCHS)])
        runs[name] = (count_words(texts[name], out), seconds)
    words = runs["full"][0] - runs["small"][0]
    seconds = runs["full"][1] - runs["small"][1]
    return {"metric": "pretrain words/s", "value": words / seconds, "higher_is_better": True,
            "details": {"epochs": EPOCHS, "words": words, "seconds": round(seconds, 2),
                        "wall_full": round(runs["full"][1], 2),
                        "wall_small": round(runs["small"][1], 2)}}


def ours(options) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        texts = _write_texts(directory)
        cli = [sys.executable, "-m", "nlp_core"]
        subprocess.run([*cli, "init", "config", str(directory / "base.cfg"), "--pipeline",
                        "tagger"], check=True, capture_output=True)
        subprocess.run([*cli, "init", "fill-config", str(directory / "base.cfg"),
                        str(directory / "config.cfg"), "--pretraining"], check=True,
                       capture_output=True)

        def count_words(_texts, out: Path) -> int:
            lines = (out / "log.jsonl").read_text().splitlines()
            return json.loads(lines[-1])["words"]

        return _measure(cli, directory / "config.cfg", directory, texts, count_words)


def spacy(options) -> dict:
    import spacy as spacy_lib
    from spacy.training import JsonlCorpus

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        texts = _write_texts(directory)
        cli = [sys.executable, "-m", "spacy"]
        subprocess.run([*cli, "init", "config", str(directory / "base.cfg"), "--pipeline",
                        "tagger"], check=True, capture_output=True)
        subprocess.run([*cli, "init", "fill-config", str(directory / "base.cfg"),
                        str(directory / "config.cfg"), "--pretraining"], check=True,
                       capture_output=True)
        nlp = spacy_lib.blank("en")

        def count_words(path: Path, _out) -> int:
            corpus = JsonlCorpus(path, min_length=5, max_length=500)
            return EPOCHS * sum(len(eg.predicted) for eg in corpus(nlp))

        result = _measure(cli, directory / "config.cfg", directory, texts, count_words)
        result["details"]["spacy_version"] = spacy_lib.__version__
        return result
