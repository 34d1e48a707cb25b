"""Small tok2vec + tagger (+ parser) training configs over the EWT fixtures, shared by the
train, distill and rehearsal tests (one text instead of a copy per test file)."""
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "training"
TRAIN = FIXTURES / "ewt-train-60.conllu"
DEV = FIXTURES / "ewt-dev-20.conllu"

_TOK2VEC_TAGGER = """
[nlp]
lang = "en"
pipeline = {pipeline}

[components]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = {width}
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [500, 100, 200, 200]
include_static_vectors = false

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = {width}
depth = {depth}
window_size = 1
maxout_pieces = {maxout_pieces}

[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "spacy.Tagger.v2"

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = {width}
"""

_PARSER = """
[components.parser]
factory = "parser"
min_action_freq = 1

[components.parser.model]
@architectures = "spacy.TransitionBasedParser.v3"
state_type = "parser"
hidden_width = 16
maxout_pieces = 2

[components.parser.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = {width}
"""

_TRAINING = """
[training]
max_steps = {max_steps}
eval_frequency = {eval_frequency}
{training}
[training.batcher]
@batchers = "spacy.batch_by_words.v1"
size = {batch_words}
"""


def pipeline_config(*, width: int, depth: int, maxout_pieces: int, parser: bool = False,
                    max_steps: int, eval_frequency: int, batch_words: int = 300,
                    training: str = "") -> str:
    """The config text: a tok2vec of `width` shared by a tagger (and a parser with
    `parser`), trained `max_steps` steps; `training` holds more `[training]` lines."""
    names = ["tok2vec", "tagger"] + (["parser"] if parser else [])
    text = _TOK2VEC_TAGGER.format(pipeline=str(names).replace("'", '"'), width=width,
                                  depth=depth, maxout_pieces=maxout_pieces)
    if parser:
        text += _PARSER.format(width=width)
    return text + _TRAINING.format(max_steps=max_steps, eval_frequency=eval_frequency,
                                   batch_words=batch_words,
                                   training=training + "\n" if training else "")
