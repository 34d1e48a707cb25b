"""The pretraining network: a tok2vec under an objective's output layer, run on masked
batches.

    model = build_pretrain_model(tok2vec, objective, vocab, sample_docs)
    masking = mask_docs(docs, rng)
    predictions, backprop = model(masking, is_train=True)     # (M, n_outputs)
    loss, d_predictions = objective.loss(predictions, objective.targets(vocab, masking.orths))
    backprop(d_predictions)
    model.finish_update(optimizer)

The tok2vec runs over every token of the masked Docs; the output layer only over the M
masked rows, whose gradient alone flows back into the tok2vec (zeros elsewhere).
"""
from typing import Callable, List, Sequence, Tuple

from thinc.api import Model
from thinc.types import Floats2d

from .pretrain_masking import Masking
from .pretrain_objectives import PretrainObjective


def build_pretrain_model(tok2vec: Model, objective: PretrainObjective, vocab,
                         sample_docs: Sequence) -> Model[Masking, Floats2d]:
    """The tok2vec and the objective's output layer, initialised.

    Args:
        tok2vec: the layer being pretrained, Model[List[Doc], List[Floats2d]] (it is
            initialised here on `sample_docs` when its parameters are not set yet).
        objective: the objective whose output layer goes on top.
        vocab: the pipeline's Vocab (the vectors objective sizes its output by the table).
        sample_docs: a few Docs to infer shapes from.

    Returns:
        A model with refs "tok2vec" and "output_layer".
    """
    if not _has_params(tok2vec):
        tok2vec.initialize(X=list(sample_docs))
    width = tok2vec.get_dim("nO")
    output_layer = objective.output_layer(width, vocab)
    output_layer.initialize(X=tok2vec.ops.alloc2f(2, width))
    model = Model("pretrain_model", _forward, layers=[tok2vec, output_layer],
                  dims={"nO": output_layer.get_dim("nO")})
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("output_layer", output_layer)
    return model


def _has_params(model: Model) -> bool:
    return all(node.has_param(name) for node in model.walk() for name in node.param_names)


def _forward(model: Model, masking: Masking, is_train: bool
             ) -> Tuple[Floats2d, Callable[[Floats2d], None]]:
    tok2vec, output_layer = model.layers
    rows, bp_rows = tok2vec(masking.docs, is_train)
    ops = model.ops
    lengths = [len(r) for r in rows]
    flat = ops.xp.concatenate(rows) if rows else ops.alloc2f(0, tok2vec.get_dim("nO"))
    positions = ops.asarray(masking.positions)
    predictions, bp_output = output_layer(flat[positions], is_train)

    def backprop(d_predictions: Floats2d) -> None:
        d_masked = bp_output(d_predictions)
        d_flat = ops.alloc2f(*flat.shape)
        d_flat[positions] = d_masked
        bp_rows(_split(d_flat, lengths))

    return predictions, backprop


def _split(array: Floats2d, lengths: List[int]) -> List[Floats2d]:
    out, start = [], 0
    for n in lengths:
        out.append(array[start:start + n])
        start += n
    return out
