"""Error messages of the transition-based parser model (codes E370-E379; the parser and
NER components use E380-E399 in `nlp_core.pipeline._errors`)."""
from ..errors import _Catalogue


class ParserModelErrors(metaclass=_Catalogue):
    E370 = ("TransitionBasedParser: state_type must be \"parser\" or \"ner\", got "
            "{value!r}. Set [components.NAME.model] state_type = \"parser\" for a dependency "
            "parser, \"ner\" for an entity recogniser.")
    E371 = ("TransitionBasedParser: hidden_width and maxout_pieces must be >= 1, got "
            "hidden_width={hidden_width}, maxout_pieces={maxout_pieces}.")
    E372 = ("TransitionBasedParser: the number of moves nO is not set. Leave nO = null in the "
            "config and initialize the component (`nlp.initialize(...)`), which sets it from "
            "the labels; or add labels before calling the model.")
    E373 = ("TransitionBasedParser has {nO} outputs but the transition system has {n_moves} "
            "moves. Resize it with `resize_output(model, {n_moves})` (the component does this "
            "in add_label).")
    E374 = ("TransitionBasedParser: the context width of the {kind} states ({got}) is not "
            "the model's nF = {nF}. Use the same extra_state_tokens setting as the model.")
    E375 = ("TransitionBasedParser cannot shrink its output from {old} to {new} moves: moves "
            "are never removed, so their class ids stay stable.")
