"""CharacterEmbed: the leading and trailing UTF-8 bytes of each word, plus a hash
embedding of one attribute, mixed by Maxout."""
from typing import Callable, List, Sequence, Tuple, Union

import numpy
from thinc.api import Model
from thinc.initializers import uniform_init
from thinc.types import Floats2d

from .. import attrs as A
from ..errors import Errors
from ..registry import registry
from . import lexeme_cache
from .embed_mix import mix_and_spread
from .featureextractor import extract_features
from .hash_tables import embed_columns, hash_keys
from .maxout_ln import MaxoutLN
from .staticvectors import StaticVectors, get_vectors, key_attr_of, project_keys

FEATURE_SEED = 5
N_BYTE_VALUES = 256


@registry.architectures("nlp_core.CharacterEmbed.v2", aliases=["spacy.CharacterEmbed.v2"])
def CharacterEmbed(width: int = 128, rows: int = 7000, nM: int = 64, nC: int = 8,
                   include_static_vectors: bool = False, feature: Union[int, str] = "LOWER"
                   ) -> Model[List, List[Floats2d]]:
    """Embed words from nC of their UTF-8 bytes and a hash embedding of `feature`.

    Bytes are taken from both ends of the word, interleaved (0, -1, 1, -2, ...; words
    shorter than nC bytes are padded), each position with its own table of 256 rows of
    width nM. The nC * nM byte vectors, the `feature` vector (width) and optionally the
    static vectors (width) are concatenated and mixed by Maxout (3 pieces) + LayerNorm.

    Args:
        width: output width and width of the feature table.
        rows: rows of the feature's hash table.
        nM: width of each byte embedding (16-64 typical).
        nC: bytes per word (3-8 typical).
        include_static_vectors: also project `doc.vocab.vectors` into the mix.
        feature: the attribute hash-embedded beside the bytes (LOWER, as in spaCy; NORM
            is a common alternative).
    """
    if nC < 1:
        raise ValueError(Errors.E309.format(layer="CharacterEmbed", nC=nC))
    n_in = nM * nC + width * (1 + int(bool(include_static_vectors)))
    mix = MaxoutLN(nO=width, nI=n_in, nP=3)
    layers: List[Model] = [mix]
    if include_static_vectors:
        layers.append(StaticVectors(nO=width, dropout=0.0))
    model = Model(
        "character_embed", _forward, init=_init, layers=layers,
        params={"E": None, "C": None},
        dims={"nO": width, "nV": rows, "nM": nM, "nC": nC},
        attrs={"feature": A.intify_attr(feature), "dropout_rate": 0.0},
    )
    model.set_ref("mix", mix)
    if include_static_vectors:
        model.set_ref("static_vectors", layers[1])
    return model


def _embed_bytes(model: Model, codes: numpy.ndarray
                 ) -> Tuple[Floats2d, Callable[[Floats2d], None]]:
    """(U, nC * nM) byte vectors of `codes` (uint8 (U, nC)), and the backprop for C."""
    ops = model.ops
    nC, nM = model.get_dim("nC"), model.get_dim("nM")
    C = model.get_param("C").reshape((nC * N_BYTE_VALUES, nM))
    # Row of each (word, position) in C seen as one (nC * 256, nM) table.
    index = ops.asarray(codes.astype("int32") + numpy.arange(nC, dtype="int32") * N_BYTE_VALUES)
    Y = C[index].reshape((len(codes), nC * nM))

    def backprop(dY: Floats2d) -> None:
        dC = ops.alloc2f(nC * N_BYTE_VALUES, nM)
        ops.scatter_add(dC, ops.as_contig(index.reshape(-1)),
                        ops.as_contig(dY).reshape((-1, nM)))
        model.inc_grad("C", dC.reshape((nC, N_BYTE_VALUES, nM)))

    return Y, backprop


def _forward(model: Model, docs: Sequence, is_train: bool
             ) -> Tuple[List[Floats2d], Callable]:
    static = model.get_ref("static_vectors") if model.has_ref("static_vectors") else None
    columns: Tuple[int, ...] = (A.ORTH, model.attrs["feature"])
    vectors = None
    if static is not None and len(docs):
        vectors = get_vectors(docs[0].vocab, "CharacterEmbed (include_static_vectors)")
        columns += (key_attr_of(static, vectors),)
    batch = extract_features(docs, columns)
    if batch.n_tokens == 0:
        return [model.ops.alloc2f(len(d), model.get_dim("nO")) for d in docs], lambda d: []
    orths = batch.values[:, 0]
    distinct, back = numpy.unique(orths, return_inverse=True)
    codes = lexeme_cache.utf8_codes(docs[0].vocab, distinct, model.get_dim("nC"))
    keys = hash_keys(model.ops, batch.values[:, 1:2], (FEATURE_SEED,), (model.get_dim("nV"),))
    pieces = [
        _embed_bytes(model, codes[back.reshape(-1)]),
        embed_columns(model.ops, model.get_param("E"), keys, 1, 0.0,
                      lambda dE: model.inc_grad("E", dE), is_train),
    ]
    if static is not None:
        pieces.append(project_keys(static, vectors, batch.values[:, 2], is_train))
    return mix_and_spread(model, model.get_ref("mix"), pieces, batch, is_train)


def _init(model: Model, X: Sequence | None = None, Y=None) -> None:
    nC, nM = model.get_dim("nC"), model.get_dim("nM")
    model.set_param("E", uniform_init(model.ops, (model.get_dim("nV"), model.get_dim("nO"))))
    model.set_param("C", uniform_init(model.ops, (nC, N_BYTE_VALUES, nM)))
    if model.has_ref("static_vectors"):
        model.get_ref("static_vectors").initialize(X=X)
    model.get_ref("mix").initialize()
