"""Error messages of the transformer model, listener and component (codes E330-E349).

Same conventions as `nlp_core.errors`: each message names the input, config key or file,
and says what to change.
"""
from ...errors import _Catalogue


class TransformerErrors(metaclass=_Catalogue):
    E330 = ("TransformerModel: cannot load {what} from {name!r} ({reason}). Give `name` as a "
            "local model directory (holding config.json, the weights and tokenizer files), "
            "e.g. --components.transformer.model.name /path/to/model; models load offline "
            "unless HF_HUB_OFFLINE is unset and the hub is reachable.")
    E331 = ("TransformerModel {name!r}: the tokenizer {cls} is not a fast tokenizer, so it "
            "gives no character offsets to align wordpieces with tokens. Use a model with a "
            "tokenizer.json (tokenizer_config = {{\"use_fast\": true}}).")
    E332 = ("TransformerModel: the model is not loaded yet. Call nlp.initialize() (training) "
            "or load a saved pipeline (nlp_core.load) before running it.")
    E333 = ("The span getter returned {got} lists of spans for {n_docs} docs; it must return "
            "one list of Spans per doc.")
    E334 = ("strided_spans: `window` ({window}) and `stride` ({stride}) must be positive, "
            "and stride <= window so that no token is left out.")
    E335 = ("TransformerListener (upstream {upstream!r}) has received no transformer output "
            "for this batch of {n_docs} docs, and the docs have no `doc._.trf_data`. Put the "
            "transformer component before this component in the pipeline (or name it in the "
            "listener's `upstream`).")
    E336 = ("TransformerListener (upstream {upstream!r}): its width is unknown. Initialise "
            "the pipeline (nlp.initialize()) so the transformer sets it, or load a trained "
            "pipeline.")
    E337 = ("Transformer component {name!r}: cannot read {what} from {path}: {reason}. The "
            "folder is written by `nlp.to_disk` and holds cfg.json and model/ (config.json, "
            "model.safetensors and the tokenizer files).")
    E338 = ("TransformerListener: grad_factor must be a number or a schedule, got "
            "{type}.")
