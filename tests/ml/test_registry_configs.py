"""The seed's config blocks resolve to our layers, with spaCy's defaults filled in."""
from pathlib import Path

import pytest
from thinc.api import Config

import nlp_core.ml  # noqa: F401  (registers the layers)
from nlp_core.registry import aliases_of, registry

SEED_CONFIGS = Path(__file__).resolve().parents[3] / "shared" / "seed" / "configs"

ARCHITECTURES = {
    "nlp_core.Tok2Vec.v2": "spacy.Tok2Vec.v2",
    "nlp_core.MultiHashEmbed.v2": "spacy.MultiHashEmbed.v2",
    "nlp_core.CharacterEmbed.v2": "spacy.CharacterEmbed.v2",
    "nlp_core.MaxoutWindowEncoder.v2": "spacy.MaxoutWindowEncoder.v2",
    "nlp_core.MishWindowEncoder.v2": "spacy.MishWindowEncoder.v2",
    "nlp_core.Tok2VecListener.v1": "spacy.Tok2VecListener.v1",
}
LAYERS = {
    "nlp_core.FeatureExtractor.v1": "spacy.FeatureExtractor.v1",
    "nlp_core.StaticVectors.v2": "spacy.StaticVectors.v2",
}


def test_names_and_aliases_registered():
    for reg, names in ((registry.architectures, ARCHITECTURES), (registry.layers, LAYERS)):
        for name, alias in names.items():
            assert reg.get(name) is reg.get(alias)
            assert aliases_of(reg, name) == sorted([name, alias])


def _block(path: str, section: str) -> Config:
    """A `[model]` config holding one (possibly nested) section of a seed config."""
    config = Config().from_disk(SEED_CONFIGS / path, interpolate=False)
    node = config
    for key in section.split("."):
        node = node[key]
    return Config({"model": node})


def test_fill_gives_spacy_defaults():
    block = _block("independent_tok2vec_ner.cfg", "components.ner.model.tok2vec")
    filled = Config().from_str(registry.fill(block).to_str())  # as `fill-config` writes it
    # The values `spacy init config` writes for the efficiency tagger/NER pipelines.
    assert dict(filled["model"]["embed"]) == {
        "@architectures": "spacy.MultiHashEmbed.v2", "width": 96,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "rows": [5000, 1000, 2500, 2500],
        "include_static_vectors": False}
    assert dict(filled["model"]["encode"]) == {
        "@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 96, "depth": 4,
        "window_size": 1, "maxout_pieces": 3}
    listener = registry.fill(_block("shared_tok2vec_ner.cfg", "components.ner.model.tok2vec"))
    assert dict(listener["model"]) == {"@architectures": "spacy.Tok2VecListener.v1",
                                       "width": 96, "upstream": "*"}


@pytest.mark.parametrize("path,section", [
    ("independent_tok2vec_ner.cfg", "components.ner.model.tok2vec"),
    ("shared_tok2vec_ner.cfg", "components.tok2vec.model"),
])
def test_seed_tok2vec_blocks_resolve_and_run(path, section, docs):
    model = registry.resolve(_block(path, section))["model"]
    model.initialize(X=docs[:2])
    assert model.get_dim("nO") == 96
    assert model.get_ref("encode").attrs["receptive_field"] == 4
    assert [y.shape for y in model.predict(docs)] == [(len(d), 96) for d in docs]


def test_seed_listener_block_resolves():
    listener = registry.resolve(_block("shared_tok2vec_ner.cfg",
                                       "components.ner.model.tok2vec"))["model"]
    assert listener.name == "tok2vec-listener"
    assert listener.upstream_name == "*" and listener.get_dim("nO") == 96


def test_seed_static_vectors_block(docs, fake_vectors):
    config = _block("static_vectors_tagger.cfg", "components.tagger.model.tok2vec")
    # The seed shows only the embed block (width 128); the encoder's default is 96.
    with pytest.raises(ValueError, match=r"E310.*set the encoder's `width = 128`"):
        registry.resolve(config)
    config["model"]["encode"]["width"] = 128
    model = registry.resolve(config)["model"]
    with pytest.raises(ValueError, match="no vectors"):
        model.initialize(X=docs)
    docs[0].vocab.vectors = fake_vectors(docs[0].vocab, ["The", "dog"], width=7)
    model.initialize(X=docs)
    assert [y.shape for y in model.predict(docs)] == [(len(d), 128) for d in docs]


def test_other_blocks_resolve(docs):
    config = Config().from_str("""
    [model]
    @architectures = "spacy.Tok2Vec.v2"

    [model.embed]
    @architectures = "spacy.CharacterEmbed.v2"
    width = 32
    rows = 500
    nM = 8
    nC = 4
    include_static_vectors = false

    [model.encode]
    @architectures = "spacy.MishWindowEncoder.v2"
    width = 32
    window_size = 1
    depth = 2

    [extract]
    @layers = "spacy.FeatureExtractor.v1"
    columns = ["NORM", "SHAPE"]
    """)
    resolved = registry.resolve(config)
    resolved["model"].initialize(X=docs[:2])
    assert [y.shape for y in resolved["model"].predict(docs)] == [(len(d), 32) for d in docs]
    assert [f.shape for f in resolved["extract"].predict(docs)] == [(len(d), 2) for d in docs]
