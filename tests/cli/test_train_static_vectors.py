"""Static vectors in training (issue 13, item 3): the seed's static_vectors_tagger.cfg and
its two custom-embedding examples (registered with `--code`) train through
`python -m nlp_core train` with `[initialize] vectors`, and a trained pipeline with static
vectors saves, reloads and predicts the same."""
from pathlib import Path

import numpy
import pytest
from shared_data import REPO_ROOT, shared_path
from typer.testing import CliRunner

import nlp_core
from nlp_core.cli import app

SEED_CONFIGS = REPO_ROOT.parent / "shared" / "seed" / "configs"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "training"
TRAIN = FIXTURES / "ewt-train-60.conllu"
DEV = FIXTURES / "ewt-dev-20.conllu"
TEXTS = ["The cat sat on the mat.", "Green eggs and ham, said Sam."]
runner = CliRunner()

# The seed's first custom embedding ("Using word vectors in your models"), imports adapted.
MY_EMBEDDING = '''
from typing import List

from thinc.api import Model
from thinc.types import Floats2d

from nlp_core.ml.staticvectors import StaticVectors
from nlp_core.registry import registry
from nlp_core.tokens import Doc

print("I was imported!")


@registry.architectures("my_example.MyEmbedding.v1")
def MyEmbedding(output_width: int) -> Model[List[Doc], List[Floats2d]]:
    print("I was called!")
    return StaticVectors(nO=output_width)
'''

# The seed's second one (MyCustomVectors), imports adapted.
MY_CUSTOM_VECTORS = '''
from typing import Dict, List

from thinc.api import Embed, Model, add, chain, remap_ids
from thinc.types import Floats2d

from nlp_core.ml.featureextractor import FeatureExtractor
from nlp_core.ml.staticvectors import StaticVectors
from nlp_core.registry import registry
from nlp_core.tokens import Doc


@registry.architectures("my_example.MyEmbedding.v1")
def MyCustomVectors(
    output_width: int,
    vector_width: int,
    embed_rows: int,
    key2row: Dict[int, int]
) -> Model[List[Doc], List[Floats2d]]:
    return add(
        StaticVectors(nO=output_width),
        chain(
           FeatureExtractor(["ORTH"]),
           remap_ids(key2row),
           Embed(nO=output_width, nV=embed_rows)
        )
    )
'''

# MyCustomVectors with the types made to meet (the seed's version cannot run, in spaCy
# either: StaticVectors gives a Ragged, FeatureExtractor a list of (n, 1) arrays that
# thinc's remap_ids v1 cannot hash, and thinc's `add` needs outputs that support +=).
# Changes: list2ragged + with_array around remap_ids (v2, column 0) and Embed, and an
# `add` for Ragged outputs.
MY_CUSTOM_VECTORS_WORKING = '''
from typing import Dict, List

from thinc.api import Embed, Model, chain, list2ragged, with_array
from thinc.layers.remap_ids import remap_ids_v2
from thinc.types import Floats2d, Ragged

from nlp_core.ml.featureextractor import FeatureExtractor
from nlp_core.ml.staticvectors import StaticVectors
from nlp_core.registry import registry
from nlp_core.tokens import Doc


def add(*layers: Model) -> Model:
    """thinc's add, for layers whose outputs are Ragged."""
    def forward(model, docs, is_train):
        outputs = [layer(docs, is_train) for layer in model.layers]
        Y = Ragged(sum(y.data for y, _ in outputs), outputs[0][0].lengths)

        def backprop(dY):
            for _, callback in outputs:
                callback(dY)
            return []

        return Y, backprop

    def init(model, X=None, Y=None):
        for layer in model.layers:
            layer.initialize(X=X)

    return Model("add_ragged", forward, init=init, layers=list(layers),
                 dims={"nO": layers[0].get_dim("nO")})


@registry.architectures("my_example.MyEmbedding.v1")
def MyCustomVectors(
    output_width: int,
    vector_width: int,
    embed_rows: int,
    key2row: Dict[int, int]
) -> Model[List[Doc], List[Floats2d]]:
    return add(
        StaticVectors(nO=output_width),
        chain(
           FeatureExtractor(["ORTH"]),
           list2ragged(),
           with_array(chain(remap_ids_v2(key2row, column=0),
                            Embed(nO=output_width, nV=embed_rows, column=0)))
        )
    )
'''


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def train(config, output, *extra, ok=True):
    result = run("train", config, "--output", output, "--paths.train", TRAIN,
                 "--paths.dev", DEV, "--training.max_steps", 4,
                 "--training.eval_frequency", 2, *extra)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def vectors_dir():
    """spaCy's small table (vocab/vectors ... as spaCy wrote them)."""
    return shared_path("interop", "vectors-small-spacy")


def seed_config() -> str:
    return (SEED_CONFIGS / "static_vectors_tagger.cfg").read_text()


def with_embed(tmp_path, embed_block: str) -> Path:
    """The seed's tagger config with its embed block replaced by the docs' block (and the
    encoder as wide as the embedding's 128)."""
    text = seed_config()
    start = text.index("[components.tagger.model.tok2vec.embed]")
    end = text.index("[components.tagger.model.tok2vec.encode]")
    text = text[:start] + embed_block + "\n" + text[end:].rstrip() + "\nwidth = 128\n"
    path = tmp_path / "custom.cfg"
    path.write_text(text)
    return path


def test_seed_config_trains_with_initialize_vectors_and_reloads(tmp_path, vectors_dir):
    config = SEED_CONFIGS / "static_vectors_tagger.cfg"
    assert "include_static_vectors = true" in config.read_text()
    result = train(config, tmp_path / "out", "--paths.vectors", vectors_dir)
    assert "TAG_ACC" in result.output
    source = nlp_core.load(vectors_dir, exclude=["tokenizer"])
    nlp = nlp_core.load(tmp_path / "out" / "model-last")
    assert nlp.vocab.vectors.shape == source.vocab.vectors.shape
    numpy.testing.assert_array_equal(nlp.vocab.vectors.data, source.vocab.vectors.data)
    docs = list(nlp.pipe(TEXTS))
    assert all(t.tag_ for doc in docs for t in doc)
    # saved again and reloaded: the same tags and the same tagger scores
    nlp.to_disk(tmp_path / "again")
    again = nlp_core.load(tmp_path / "again")
    docs2 = list(again.pipe(TEXTS))
    assert [[t.tag_ for t in d] for d in docs2] == [[t.tag_ for t in d] for d in docs]
    tagger, tagger2 = nlp.get_pipe("tagger"), again.get_pipe("tagger")
    scores = tagger.model.predict(docs)
    for got, want in zip(tagger2.model.predict(docs2), scores):
        numpy.testing.assert_allclose(got, want, rtol=1e-6)
    # and the model does read the table: zeroed vectors change its scores
    again.vocab.vectors.data[:] = 0
    zeroed = tagger2.model.predict(list(again.pipe(TEXTS)))
    assert not all(numpy.allclose(got, want) for got, want in zip(zeroed, scores))


def test_seed_config_without_vectors_names_the_setting(tmp_path):
    result = train(SEED_CONFIGS / "static_vectors_tagger.cfg", tmp_path / "out", ok=False)
    assert result.exit_code != 0
    assert "E300" in str(result.exception) + result.output
    assert "[initialize] vectors" in str(result.exception) + result.output


def test_my_embedding_trains_with_code(tmp_path, vectors_dir):
    code = tmp_path / "my_embedding.py"
    code.write_text(MY_EMBEDDING)
    config = with_embed(tmp_path, '[components.tagger.model.tok2vec.embed]\n'
                                  '@architectures = "my_example.MyEmbedding.v1"\n'
                                  'output_width = 128\n')
    result = train(config, tmp_path / "out", "--code", code, "--paths.vectors", vectors_dir)
    assert "I was imported!" in result.output and "I was called!" in result.output
    assert (tmp_path / "out" / "model-last" / "vocab" / "vectors").exists()


CUSTOM_VECTORS_BLOCK = ('[components.tagger.model.tok2vec.embed]\n'
                        '@architectures = "my_example.MyEmbedding.v1"\n'
                        'output_width = 128\nvector_width = 300\nembed_rows = 1000\n'
                        'key2row = {}\n')


def test_my_custom_vectors_as_written_cannot_run(tmp_path, vectors_dir):
    code = tmp_path / "my_custom_vectors.py"
    code.write_text(MY_CUSTOM_VECTORS)
    config = with_embed(tmp_path, CUSTOM_VECTORS_BLOCK)
    result = train(config, tmp_path / "out", "--code", code, "--paths.vectors", vectors_dir,
                   ok=False)
    assert result.exit_code != 0
    assert isinstance(result.exception, TypeError), result.output   # thinc's remap_ids


def test_my_custom_vectors_with_matching_types_trains(tmp_path, vectors_dir):
    code = tmp_path / "my_custom_vectors.py"
    code.write_text(MY_CUSTOM_VECTORS_WORKING)
    config = with_embed(tmp_path, CUSTOM_VECTORS_BLOCK)
    result = train(config, tmp_path / "out", "--code", code, "--paths.vectors", vectors_dir)
    assert "TAG_ACC" in result.output
