"""MultiHashEmbed: hash embeddings of several lexical attributes, mixed by Maxout."""
from typing import Callable, List, Sequence, Tuple, Union

from thinc.api import Model
from thinc.initializers import uniform_init
from thinc.types import Floats2d

from .. import attrs as A
from ..errors import Errors
from ..registry import registry
from .embed_mix import mix_and_spread
from .featureextractor import extract_features
from .hash_tables import embed_columns, hash_keys
from .maxout_ln import MaxoutLN
from .staticvectors import StaticVectors, get_vectors, key_attr_of, project_keys

# Hash seeds of the attribute columns: column i uses FIRST_SEED + i.
FIRST_SEED = 8


@registry.architectures("nlp_core.MultiHashEmbed.v2", aliases=["spacy.MultiHashEmbed.v2"])
def MultiHashEmbed(
    width: int = 96,
    attrs: Sequence[Union[str, int]] = ("NORM", "PREFIX", "SUFFIX", "SHAPE"),
    rows: Sequence[int] = (5000, 1000, 2500, 2500),
    include_static_vectors: bool = False,
) -> Model[List, List[Floats2d]]:
    """Embed each attribute in its own hash table, concatenate, and mix with Maxout.

    The concatenation (k * width, plus width for static vectors) goes through a
    Maxout (3 pieces) + LayerNorm to `width`. Everything up to the mixing runs once per
    distinct word of the batch.

    Args:
        width: output width and the width of each table (64-300 typical).
        attrs: token attributes to embed, e.g. NORM, LOWER, PREFIX, SUFFIX, SHAPE, ORTH.
        rows: rows of each attribute's table (one per attr; 1000-10000 typical).
        include_static_vectors: also project `doc.vocab.vectors` (StaticVectors) into the
            mix; the pipeline must then have vectors.

    Returns:
        A layer List[Doc] -> List[Floats2d] of shape (n_tokens, width). Its
        `dropout_rate` (0.0 until set by the training loop) drops per-batch table
        dimensions, static-vector dimensions and, per token, output values.
    """
    attr_ids = tuple(A.intify_attrs(attrs))
    rows = tuple(int(r) for r in rows)
    if len(rows) != len(attr_ids):
        raise ValueError(Errors.E301.format(layer="MultiHashEmbed", n_rows=len(rows),
                                              n_attrs=len(attr_ids), attrs=list(attrs)))
    n_pieces = len(attr_ids) + int(bool(include_static_vectors))
    mix = MaxoutLN(nO=width, nI=width * n_pieces, nP=3)
    layers: List[Model] = [mix]
    if include_static_vectors:
        layers.append(StaticVectors(nO=width, dropout=0.0))
    model = Model(
        "multi_hash_embed", _forward, init=_init, layers=layers, params={"E": None},
        dims={"nO": width, "nV": sum(rows)},
        attrs={"attr_ids": attr_ids, "rows": rows,
               "seeds": tuple(FIRST_SEED + i for i in range(len(attr_ids))),
               "include_static_vectors": bool(include_static_vectors), "dropout_rate": 0.0},
    )
    model.set_ref("mix", mix)
    if include_static_vectors:
        model.set_ref("static_vectors", layers[1])
    return model


def _forward(model: Model, docs: Sequence, is_train: bool
             ) -> Tuple[List[Floats2d], Callable]:
    attr_ids = tuple(model.attrs["attr_ids"])
    static = model.get_ref("static_vectors") if model.has_ref("static_vectors") else None
    columns = attr_ids
    vectors = None
    if static is not None and len(docs):
        vectors = get_vectors(docs[0].vocab, "MultiHashEmbed (include_static_vectors)")
        columns = attr_ids + (key_attr_of(static, vectors),)
    batch = extract_features(docs, columns)
    if batch.n_tokens == 0:
        return [model.ops.alloc2f(len(d), model.get_dim("nO")) for d in docs], lambda d: []
    keys = hash_keys(model.ops, batch.values[:, : len(attr_ids)], model.attrs["seeds"],
                     model.attrs["rows"])
    pieces = [embed_columns(model.ops, model.get_param("E"), keys, len(attr_ids),
                            model.attrs["dropout_rate"], lambda dE: model.inc_grad("E", dE),
                            is_train)]
    if static is not None:
        pieces.append(project_keys(static, vectors, batch.values[:, -1], is_train))
    return mix_and_spread(model, model.get_ref("mix"), pieces, batch, is_train)


def _init(model: Model, X: Sequence | None = None, Y=None) -> None:
    model.set_param("E", uniform_init(model.ops, (model.get_dim("nV"), model.get_dim("nO"))))
    if model.has_ref("static_vectors"):
        model.get_ref("static_vectors").initialize(X=X)
    model.get_ref("mix").initialize()
