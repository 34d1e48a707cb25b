"""Error messages of the trainable components and of the pipeline's training methods
(codes E350-E399).

They follow the project's catalogue conventions (`nlp_core.errors`): each message names the
component, key or file and says what to change. Kept beside the components until the owners
of `nlp_core/errors.py` fold them into the one catalogue.
"""
from ..errors import _Catalogue


class PipeErrors(metaclass=_Catalogue):
    E350 = ("{component!r} ({cls}).initialize got no examples: `get_examples()` yielded "
            "nothing. Pass a callable returning training Examples (e.g. `lambda: "
            "train_examples`), or check that the training corpus is not empty.")
    E351 = ("{component!r} ({cls}).initialize: `get_examples` must be a callable returning "
            "Examples, got {type}. Pass e.g. `lambda: examples`.")
    E352 = ("{component!r} ({cls}).initialize: `get_examples()` yielded {type}, not an "
            "Example. Build them with `Example(predicted_doc, reference_doc)` or "
            "`Example.from_dict(doc, {{\"tags\": [...]}})`.")
    E353 = ("{component!r} (tagger, attr {attr!r}) found no labels: none of the {n} examples "
            "has a gold {attr!r} value. Check that the training data carries {what} (e.g. the "
            "{column} column of a CoNLL-U file), or give the labels in [initialize.components."
            "{component}] labels = [...].")
    E354 = ("{component!r} (tagger) has no labels, so it cannot predict. Call "
            "`nlp.initialize(get_examples)` (labels come from the training data) or load a "
            "trained pipeline.")
    E355 = ("{component!r} (tagger): gold label {label!r} is not one of its {n} labels "
            "(nearest: {known}). Labels come from the examples given to `initialize`: "
            "initialize with data that contains it, add it with `add_label` before "
            "`initialize`, or include it in [initialize.components.{component}] labels.")
    E356 = ("{component!r} (tagger, attr \"pos\"): label {label!r} is not a Universal POS tag "
            "(known: {known}). A tagger with attr = \"pos\" predicts UPOS; use attr = \"tag\" "
            "for language-specific tags.")
    E357 = ("{component!r} (tagger): attr must be \"tag\" (XPOS, into token.tag_) or \"pos\" "
            "(UPOS, into token.pos_), got {attr!r}.")
    E358 = ("{component!r} (tagger): labels must be non-empty strings, got {label!r}.")
    E359 = ("{component!r} (tagger): the model's output width nO = {nO} is smaller than the "
            "{n} labels. Leave `nO = null` in [components.{component}.model] so that it is "
            "set from the labels.")
    E360 = ("{component!r} (tagger): the loss is NaN. Lower the learning rate "
            "([training.optimizer] learn_rate) or set grad_clip, and check the inputs.")
    E361 = ("{component!r} (tagger): label_smoothing = {value} must be >= 0 and below "
            "(n_labels - 1) / n_labels = {limit:.3f}.")
    E362 = ("{component!r} ({cls}) cannot add label {label!r}: {reason}")
    E363 = ("{method} expects Examples, got {type}. Build them with `Example(predicted_doc, "
            "reference_doc)` or `Example.from_dict(doc, annotations)`.")
    E364 = ("[initialize] vectors = {path!r}: this pipeline's Vocab has no static-vectors "
            "table yet, so vectors cannot be loaded. Static vectors arrive with the vectors "
            "issue; until then set `[initialize] vectors = null` (and "
            "include_static_vectors = false in the embedding layers).")
    E365 = ("[initialize] {key} = {value!r} is not supported yet: nlp_core has no {what}. "
            "Set it to null.")
    E366 = ("[initialize] init_tok2vec = {path!r}: the file does not exist. Point it at the "
            "weights file written by `pretrain` (e.g. pretrain_output/model-last.bin), or "
            "set it to null.")
    E367 = ("[initialize] init_tok2vec: cannot load the weights in {path} into component "
            "{component!r}{layer}: {detail}. The file must come from `pretrain` with the same "
            "embedding architecture and widths as [components.{component}.model].")
    E368 = ("[initialize] init_tok2vec: the pipeline has no component {component!r} "
            "([pretraining] component) to load the weights into; it has {names}.")
    E369 = ("{component!r} ({cls}).from_disk: {path} holds no {what}. Load a directory "
            "written by `to_disk`.")
    E380 = ("{component!r}: beam_width must be >= 1 and beam_density in [0, 1], got "
            "beam_width={width}, beam_density={density}. beam_width = 1 parses greedily.")
    E381 = ("{component!r}: update_with_oracle_cut_size must be >= 0 (0: whole docs), got "
            "{value}.")
    E382 = ("{component!r}: labels must be non-empty strings, got {label!r}.")
    E383 = ("{component!r} ({kind}) has no moves yet, so it cannot predict. Call "
            "`nlp.initialize(get_examples)` (labels come from the training data) or load a "
            "trained pipeline.")
    E384 = ("{component!r}: the loss is NaN. Lower the learning rate ([training.optimizer] "
            "learn_rate) or set grad_clip, and check the inputs.")
    E385 = ("{component!r} ({kind}) found no labels in the {n} training examples: none has "
            "{what}. Check that the training data carries them, or give the labels in "
            "[initialize.components.{component}] labels = [...].")
    E386 = ("{component!r} (parser): learn_tokens = true is not supported: the arc-eager "
            "system here does not split or merge tokens. Set learn_tokens = false.")
    E387 = ("{component!r} (parser): min_action_freq must be >= 0, got {value}.")
