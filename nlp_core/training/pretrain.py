"""`pretrain`: train a pipeline's embedding layer on raw text with a cloze objective.

    [pretraining]                      # see default_config_pretraining.cfg
    max_epochs, dropout, n_save_every, n_save_epoch, component, layer, corpus,
    batcher, objective, optimizer

The layer `[pretraining] component` (and `layer`, a ref inside its model; "" for the
whole model) is built from the config, given the objective's output layer, and trained on
masked batches of `[pretraining] corpus` (see `nlp_core.ml.pretrain_masking`).

Output in OUTPUT_DIR (see `pretrain_checkpoint` for what a checkpoint holds):
`model{epoch}.bin` after each epoch (every `n_save_epoch`-th and the last one when set):
the weights for init_tok2vec with their provenance; `model-last.bin` after each epoch and
at the end, and `model{epoch}.temp.bin` every `n_save_every` batches (removed when the
epoch ends): resumable, with the training state too; `log.jsonl`, one line per batch
(epoch, step, words, masked tokens, loss, seconds); the progress table on stdout.

Runs are reproducible and resumable: the masking and dropout of batch b of epoch e are
seeded from ([system] seed, e, b), and a resumable checkpoint holds the raw weights, the
output layer, the optimizer state and the position, so `--resume-path` gives the same
losses as a run that never stopped.
"""
import json
import sys
import time
import warnings
from pathlib import Path
from typing import IO, Any, Dict, Optional

import numpy
from confection import Config
from thinc.api import Model, fix_random_seed

from ..errors import Errors, Warnings
from ..language import Language
from ..language_init_tok2vec import component_layer
from ..language_training import load_vectors
from ..ml.pretrain_masking import mask_docs
from ..ml.pretrain_model import build_pretrain_model
from ..ml.pretrain_objectives import PretrainObjective
from ..pipeline.trainable import set_dropout_rate
from ..registry import registry
from .loop import resolve_corpus, single_blas_thread
from .pretrain_checkpoint import (
    architecture_block,
    architecture_differences,
    read_checkpoint,
    signature,
    signature_differences,
    write_checkpoint,
)
from .pretrain_state import optimizer_state, restore_optimizer

# A progress row is printed each time this many more words have been trained on.
LOG_EVERY_WORDS = 100_000


def pretrained_layer(nlp: Language, component: str, layer: str) -> Model:
    """The model `[pretraining] component` / `layer` names (E522 / E523)."""
    if component not in nlp.component_names:
        raise ValueError(Errors.E522.format(component=component, names=nlp.component_names))
    return component_layer(nlp, component, layer)


class Pretrainer:
    """One pretraining run (see the module docstring); `run()` trains and saves."""

    def __init__(self, config: Config, output_dir: Path, *, resume_path: Optional[Path] = None,
                 epoch_resume: Optional[int] = None, max_steps: int = 0,
                 stdout: Optional[IO] = None, log_every_words: int = LOG_EVERY_WORDS):
        if epoch_resume is not None and resume_path is None:
            raise ValueError(Errors.E533.format(epoch=epoch_resume,
                                                reason="it needs --resume-path"))
        self.stdout = stdout or sys.stdout
        self.output_dir = Path(output_dir)
        self.max_steps = max_steps
        self.log_every_words = log_every_words
        interpolated = config.interpolate()
        self.settings = interpolated["pretraining"]
        self.seed = int(interpolated.get("system", {}).get("seed") or 0)
        fix_random_seed(self.seed)
        self.nlp = Language.from_config(config)
        vectors = interpolated.get("initialize", {}).get("vectors")
        if vectors is not None:
            load_vectors(self.nlp, vectors)
        resolved = registry.resolve({"p": {k: self.settings[k] for k in
                                           ("batcher", "objective", "optimizer")}})["p"]
        self.batcher, self.optimizer = resolved["batcher"], resolved["optimizer"]
        self.objective = resolved["objective"]
        if not isinstance(self.objective, PretrainObjective):
            raise ValueError(Errors.E524.format(
                name=self.settings["objective"].get("@architectures"),
                type=type(self.objective).__name__))
        self.objective.check(self.nlp.vocab)
        for key in ("max_epochs", "n_save_every", "n_save_epoch"):
            value = self.settings.get(key)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(Errors.E535.format(key=key, value=value,
                                                    reason="a positive integer (or null)"))
        self.component, self.layer = self.settings["component"], self.settings["layer"]
        self.tok2vec = pretrained_layer(self.nlp, self.component, self.layer)
        self.corpus = resolve_corpus(interpolated, config, self.settings["corpus"])
        self.corpus_info = self.corpus.fingerprint() if hasattr(self.corpus, "fingerprint") \
            else {"fingerprint": None}
        first = next(iter(self.corpus(self.nlp)), None)
        if first is None:
            raise ValueError(Errors.E531.format(key=self.settings["corpus"], detail=""))
        self.model = build_pretrain_model(self.tok2vec, self.objective, self.nlp.vocab,
                                          [first.predicted])
        self.architecture = architecture_block(interpolated, self.component, self.layer)
        self.position = {"epoch": 0, "batch": 0, "step": 0, "words": 0}
        self._saved_step, self._last_checksum = -1, ""
        if resume_path is not None:
            self._resume(Path(resume_path), epoch_resume)

    # --- resuming -------------------------------------------------------------------------

    def _resume(self, path: Path, epoch_resume: Optional[int]) -> None:
        if not path.is_file():
            raise FileNotFoundError(Errors.E532.format(path=path))
        checkpoint = read_checkpoint(path)
        saved = checkpoint.provenance
        if checkpoint.resume is None:
            raise ValueError(Errors.E528.format(path=path, detail=""))
        diffs = architecture_differences(saved.get("architecture"), self.architecture)
        diffs += signature_differences(saved.get("signature", []), signature(self.tok2vec))
        objective = {"name": self.objective.name, **self.objective.settings}
        diffs += architecture_differences(saved.get("objective"), objective, "objective")
        if diffs:
            raise ValueError(Errors.E527.format(
                path=path, what=f"component {saved.get('component')!r}",
                target=f"[components.{self.component}.model] and [pretraining.objective]",
                diffs="; ".join(diffs)))
        ours, theirs = self.corpus_info.get("fingerprint"), saved["corpus"].get("fingerprint")
        if ours != theirs:
            warnings.warn(Warnings.W520.format(path=path, theirs=theirs, ours=ours),
                          stacklevel=2)
        state = checkpoint.resume
        self.tok2vec.from_bytes(state["tok2vec"])
        self.model.get_ref("output_layer").from_bytes(state["output_layer"])
        try:
            restore_optimizer(self.optimizer, self.model, state["optimizer"])
        except (KeyError, ValueError) as err:
            raise ValueError(Errors.E528.format(path=path, detail=f" that fits: {err}")) \
                from None
        self.position = {key: int(state["position"][key])
                         for key in ("epoch", "batch", "step", "words")}
        if epoch_resume is not None:
            if epoch_resume < 0:
                raise ValueError(Errors.E533.format(epoch=epoch_resume,
                                                    reason="epochs count from 0"))
            self.position.update(epoch=epoch_resume, batch=0)
        self.stdout.write(f"Resuming from {path} ({saved['objective']['name']}, "
                          f"epoch {self.position['epoch']}, batch {self.position['batch']}, "
                          f"step {self.position['step']})\n")

    # --- training -------------------------------------------------------------------------

    def run(self) -> Dict[str, Any]:
        """Train until `max_epochs` (or `max_steps`) and save; returns a summary."""
        if self.output_dir.exists() and not self.output_dir.is_dir():
            raise ValueError(Errors.E530.format(path=self.output_dir))
        self.output_dir.mkdir(parents=True, exist_ok=True)
        dropout = float(self.settings["dropout"] or 0.0)
        set_dropout_rate(self.tok2vec, dropout)
        max_epochs = self.settings["max_epochs"]
        pos = self.position
        timed_words, timed_seconds = 0, 0.0
        window = {"words": 0, "loss": 0.0, "masked": 0, "start": time.perf_counter()}
        next_row = pos["words"] + self.log_every_words
        self._header()
        # a resumed run continues the log of the run it resumes; a fresh one starts it anew
        mode = "a" if self.position["step"] else "w"
        with open(self.output_dir / "log.jsonl", mode, encoding="utf8") as log, \
                single_blas_thread():
            while pos["epoch"] < max_epochs and not self._done():
                epoch, skip = pos["epoch"], pos["batch"]
                examples = self.corpus(self.nlp)
                for b, batch in enumerate(self.batcher(examples)):
                    if b < skip:
                        continue
                    start = time.perf_counter()
                    loss, n_masked, n_words = self.step([eg.predicted for eg in batch],
                                                        epoch, b)
                    seconds = time.perf_counter() - start
                    timed_words += n_words
                    timed_seconds += seconds
                    pos.update(batch=b + 1, step=pos["step"] + 1,
                               words=pos["words"] + n_words)
                    log.write(json.dumps({"epoch": epoch, "step": pos["step"], "batch": b,
                                          "words": pos["words"], "masked": n_masked,
                                          "loss": loss, "seconds": round(seconds, 4)}) + "\n")
                    window["words"] += n_words
                    window["loss"] += loss
                    window["masked"] += n_masked
                    if pos["words"] >= next_row:
                        self._row(epoch, window)
                        next_row = pos["words"] + self.log_every_words
                    every = self.settings.get("n_save_every")
                    if every and pos["step"] % every == 0:
                        self._save(f"model{epoch}.temp.bin", epoch)
                    if self._done():
                        break
                if self._done():
                    break
                self._report_corpus(epoch)
                pos.update(epoch=epoch + 1, batch=0)
                n_save = self.settings.get("n_save_epoch")
                if not n_save or epoch % n_save == 0 or epoch == max_epochs - 1:
                    self._save(f"model{epoch}.bin", epoch, resumable=False)
                self._save("model-last.bin", epoch)
                temp = self.output_dir / f"model{epoch}.temp.bin"
                if temp.exists():
                    temp.unlink()
            if window["words"]:
                self._row(pos["epoch"] if self._done() else pos["epoch"] - 1, window)
        if self._saved_step != pos["step"] or not (self.output_dir / "model-last.bin").exists():
            self._save("model-last.bin", pos["epoch"])
        checksum = self._last_checksum
        words_per_s = timed_words / timed_seconds if timed_seconds else 0.0
        self.stdout.write(f"Saved {self.output_dir / 'model-last.bin'} ({checksum}); "
                          f"{timed_words:,} words at {words_per_s:,.0f} words/s\n")
        return {"words": timed_words, "seconds": timed_seconds, "words_per_s": words_per_s,
                "step": pos["step"], "checksum": checksum}

    def step(self, docs, epoch: int, batch: int):
        """One update on a batch of Docs; returns (summed loss, masked tokens, words)."""
        rng = numpy.random.default_rng([self.seed, epoch, batch])
        # thinc's and our dropout masks draw from numpy's global state
        numpy.random.seed(int(rng.integers(0, 2**31 - 1)))
        masking = mask_docs(docs, rng)
        predictions, backprop = self.model(masking, is_train=True)
        targets = self.objective.targets(self.nlp.vocab, masking.orths)
        loss, d_predictions = self.objective.loss(predictions, targets)
        if not numpy.isfinite(loss):
            raise ValueError(Errors.E535.format(
                key="optimizer.learn_rate", value=self.settings["optimizer"].get("learn_rate"),
                reason=f"the loss became {loss} at epoch {epoch} batch {batch}; lower it"))
        backprop(d_predictions)
        self.model.finish_update(self.optimizer)
        self.optimizer.step_schedules()
        return loss, len(masking.positions), sum(len(d) for d in docs)

    def _done(self) -> bool:
        return bool(self.max_steps) and self.position["step"] >= self.max_steps

    # --- output ---------------------------------------------------------------------------

    def _save(self, name: str, epoch: int, resumable: bool = True) -> str:
        """Write a checkpoint; `resumable` ones also hold the raw weights, the output layer
        and the optimizer state (several times the size of the weights)."""
        averages = self.optimizer.averages
        if averages:
            with self.tok2vec.use_params(averages):
                weights = self.tok2vec.to_bytes()
        else:
            weights = self.tok2vec.to_bytes()
        provenance = {
            "component": self.component, "layer": self.layer,
            "architecture": self.architecture, "signature": signature(self.tok2vec),
            "objective": {"name": self.objective.name, **self.objective.settings},
            "epoch": epoch, "step": self.position["step"], "words": self.position["words"],
            "corpus": self.corpus_info, "seed": self.seed, "averaged": bool(averages),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        resume = None
        if resumable:
            resume = {"tok2vec": self.tok2vec.to_bytes(),
                      "output_layer": self.model.get_ref("output_layer").to_bytes(),
                      "optimizer": optimizer_state(self.optimizer, self.model),
                      "position": dict(self.position)}
        checksum = write_checkpoint(self.output_dir / name, provenance, weights, resume)
        if name == "model-last.bin":
            self._saved_step, self._last_checksum = self.position["step"], checksum
        return checksum

    def _header(self) -> None:
        self.stdout.write(f"Pretraining [components.{self.component}.model]"
                          f"{'.' + self.layer if self.layer else ''} with "
                          f"{self.objective.name} {self.objective.settings}\n")
        self.stdout.write(f"{'epoch':>5}  {'step':>8}  {'words':>12}  {'loss':>9}  "
                          f"{'words/s':>9}\n")

    def _row(self, epoch: int, window: Dict[str, Any]) -> None:
        now = time.perf_counter()
        seconds = now - window["start"]
        loss = window["loss"] / max(window["masked"], 1)
        self.stdout.write(f"{epoch:>5}  {self.position['step']:>8}  "
                          f"{self.position['words']:>12,}  {loss:>9.4f}  "
                          f"{window['words'] / max(seconds, 1e-9):>9,.0f}\n")
        self.stdout.flush()
        window.update(words=0, loss=0.0, masked=0, start=now)

    def _report_corpus(self, epoch: int) -> None:
        stats = getattr(self.corpus, "stats", None)
        if not stats:
            return
        if stats.get("docs", 0) == 0:
            raise ValueError(Errors.E531.format(key=self.settings["corpus"], detail=""))
        self.stdout.write(
            f"Corpus, epoch {epoch}: {stats['docs']:,} documents; {stats['split']:,} of "
            f"max_length tokens or more split into {stats['pieces']:,} pieces; "
            f"{stats['too_short']:,} below min_length skipped; "
            f"{stats['bad_records']:,} bad records skipped\n")

