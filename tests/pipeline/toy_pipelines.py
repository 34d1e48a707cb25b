"""Toy tagging data and pipelines in the seed's two setups (shared and independent
tok2vec), with a tagger in place of the seed's NER."""
from pathlib import Path

from thinc.api import fix_random_seed

import nlp_core
from nlp_core.config import load_config_from_str
from nlp_core.language import Language
from nlp_core.training import Example

SEED_CONFIGS = Path(__file__).resolve().parents[3] / "shared" / "seed" / "configs"

# (text, XPOS, UPOS)
TOY = [
    ("I like green eggs", ["PRP", "VBP", "JJ", "NNS"], ["PRON", "VERB", "ADJ", "NOUN"]),
    ("Eat blue ham", ["VB", "JJ", "NN"], ["VERB", "ADJ", "NOUN"]),
    ("They eat green ham", ["PRP", "VBP", "JJ", "NN"], ["PRON", "VERB", "ADJ", "NOUN"]),
    ("We like eggs", ["PRP", "VBP", "NNS"], ["PRON", "VERB", "NOUN"]),
]
SMALL_TOK2VEC = {
    "@architectures": "spacy.Tok2Vec.v2",
    "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 32,
              "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "rows": [200, 100, 100, 100],
              "include_static_vectors": False},
    "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 32, "depth": 2,
               "window_size": 1, "maxout_pieces": 3},
}


def seed_config_as_tagger(filename: str):
    """A seed config with its NER component replaced by a tagger (same blocks otherwise)."""
    text = (SEED_CONFIGS / filename).read_text(encoding="utf8")
    text = text.replace("spacy.TransitionBasedParser.v3", "spacy.Tagger.v2")
    text = text.replace('"ner"', '"tagger"').replace("components.ner", "components.tagger")
    return load_config_from_str(text)


def make_examples(nlp: Language, data=TOY):
    return [Example.from_dict(nlp.make_doc(text), {"tags": tags, "pos": pos})
            for text, tags, pos in data]


def shared_nlp(*, upos: bool = False, width: int = 32) -> Language:
    """tok2vec + tagger (+ a UPOS tagger), both listening to the tok2vec."""
    fix_random_seed(0)
    nlp = nlp_core.blank("en")
    model = dict(SMALL_TOK2VEC)
    model["embed"] = {**model["embed"], "width": width}
    model["encode"] = {**model["encode"], "width": width}
    nlp.add_pipe("tok2vec", config={"model": model})
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": width}
    nlp.add_pipe("tagger", config={"model": {"tok2vec": listener}})
    if upos:
        nlp.add_pipe("tagger", name="upos", config={"attr": "pos",
                                                    "model": {"tok2vec": listener}})
    return nlp


def independent_nlp() -> Language:
    fix_random_seed(0)
    nlp = nlp_core.blank("en")
    nlp.add_pipe("tagger", config={"model": {"tok2vec": SMALL_TOK2VEC}})
    return nlp


def train(nlp: Language, examples, n_steps: int = 50, **kwargs):
    optimizer = nlp.initialize(lambda: examples)
    losses = {}
    for _ in range(n_steps):
        losses = nlp.update(examples, sgd=optimizer, **kwargs)
    return optimizer, losses


def params_of(model):
    return {(node.id, name): node.get_param(name).copy()
            for node in model.walk() for name in node.param_names if node.has_param(name)}
