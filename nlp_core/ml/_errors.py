"""Error messages of the model layers (codes E300-E349).

They use the project's catalogue conventions (`nlp_core.errors`): each message names the
input or config key and says what to change. Kept beside the layers until the owners of
`nlp_core/errors.py` fold them into the one catalogue.
"""
from ..errors import _Catalogue


class MLErrors(metaclass=_Catalogue):
    E300 = ("The pipeline has no vectors: {layer} reads `doc.vocab.vectors`, which is "
            "{found}. Add them with [initialize] vectors = \"path/to/vectors\" in the config "
            "(or `python -m nlp_core init vectors`), or set include_static_vectors = false.")
    E301 = ("{layer}: mismatched lengths: {n_rows} rows for {n_attrs} attrs ({attrs}). Give "
            "one table size in `rows` per attribute in `attrs`.")
    E302 = ("{layer}: the vectors table returned {got} for {n} keys; `vectors.find(keys=...)` "
            "must return one row index per key (-1 for a missing key).")
    E303 = ("{layer}: cannot infer the dimension {dim!r}: give it in the config or call "
            "`model.initialize(X=docs)` with a sample of Docs.")
    E304 = ("Tok2VecListener (upstream {upstream!r}) has received no output for this batch "
            "of {n_docs} docs, and the docs carry no `doc.tensor` of width {width}. Put the "
            "upstream embedding component (factory \"tok2vec\") before this component in "
            "`[nlp] pipeline` and run the whole pipeline, or give this component its own "
            "Tok2Vec (the \"independent\" setup: @architectures = \"spacy.Tok2Vec.v2\").")
    E305 = ("Tok2VecListener (upstream {upstream!r}) has no usable output for this batch "
            "of {n_docs} docs (id {got}): it holds {held} (id {expected}), and the docs "
            "carry no `doc.tensor`. In training, pass the same docs in the same order to "
            "the tok2vec component and to the components listening to it; at inference, "
            "run the upstream component first so that it sets `doc.tensor`.")
    E306 = ("Tok2VecListener (upstream {upstream!r}): the upstream output has width {got} "
            "but the listener is configured with width = {width}. Set the listener's width "
            "to the upstream model's width (e.g. width = "
            "${{components.tok2vec.model.encode.width}}).")
    E307 = ("{layer}: expected {expected} arrays (one per doc), got {got}.")
    E308 = ("{layer}: window_size must be >= 0 and depth >= 1, got window_size={window_size}, "
            "depth={depth}.")
    E309 = ("{layer}: nC must be >= 1 (UTF-8 bytes per word), got {nC}.")
    E310 = ("Tok2Vec: the embedding's width ({embed}) differs from the encoder's width "
            "({encode}). The encoder adds context with residual connections, so they must "
            "be equal: set the encoder's `width = {embed}` (in a config, e.g. "
            "`width = ${{components.tok2vec.model.embed.width}}` in the `encode` block).")
