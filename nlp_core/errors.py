"""One catalogue of error messages.

Every message names the input (key, file, value) and says what to change. Raise them as
`raise ValueError(Errors.E002.format(...))`; the code prefix lets users search for help.
"""
import difflib
from typing import Iterable


class _Catalogue(type):
    def __getattribute__(cls, name: str) -> str:
        message = type.__getattribute__(cls, name)
        if name.startswith("E") and isinstance(message, str):
            return f"[{name}] {message}"
        return message


class Errors(metaclass=_Catalogue):
    E001 = "Expected a str for the text to tokenize, got {type}. Decode bytes first or pass a Doc."
    E002 = ("Unknown string key {key!r}: it is not in this StringStore. Strings are added when a "
            "document or component uses them; add it with `strings.add(...)`.")
    E003 = "Expected a str or int key for the StringStore, got {type}."
    E004 = "Unknown attribute {name!r}. Known attributes include: {known}."
    E005 = ("Doc words and spaces must have the same length: got {n_words} words and {n_spaces} "
            "spaces.")
    E006 = "Doc words must be non-empty strings: word {i} is {word!r}."
    E007 = "Token index {i} is out of range for a Doc of {n} tokens."
    E008 = ("Cannot iterate over sentences: the Doc has neither sentence boundaries nor a "
            "dependency parse. Add a parser or sentence segmenter, or set `token.is_sent_start`.")
    E009 = ("Entity spans overlap: {span1!r} ({start1}-{end1}) and {span2!r} ({start2}-{end2}). "
            "A token can be in one entity only; use `doc.spans[...]` for overlapping spans.")
    E010 = "Invalid IOB value {value!r} for token {i}: expected one of 'B', 'I', 'O' or ''."
    E011 = "Invalid span boundaries {start}:{end} for a Doc of {n} tokens."
    E012 = ("Extension {name!r} already exists on {obj}. Pass `force=True` to overwrite it, or "
            "choose another name.")
    E013 = ("Extension {name!r} needs exactly one of `default`, `getter` or `method` "
            "(a setter only together with a getter).")
    E014 = ("{obj} has no extension {name!r}. Register it first with "
            "`{obj}.set_extension({name!r}, default=...)`.")
    E015 = "Cannot set extension {name!r}: it has a getter but no setter."
    E016 = "alignment_mode must be one of 'strict', 'contract', 'expand', got {mode!r}."
    E017 = "Invalid part-of-speech {value!r}: expected a Universal POS tag such as {known}."
    E018 = "Cannot merge an empty list of Docs with Doc.from_docs."
    E019 = "All Docs passed to Doc.from_docs must share one Vocab."
    E020 = "from_array got an array of shape {shape} for {n_attrs} attributes and {n} tokens."
    E021 = ("Head index {head} of token {i} is out of range for a Doc of {n} tokens. Heads are "
            "absolute token indices within the same Doc.")
    E022 = "Span group {name!r} got a span from another Doc."
    E023 = "Cannot set a Span's label to {value!r}: expected str or int."

    # tokenizer (E100-E149): tokenizer, language data
    E100 = ("No language data for {lang!r}. Known language codes: {known}. Use 'xx' for "
            "language-independent tokenizer rules.")
    E101 = ("Special case {string!r} splits into {substrings!r}, which join to {joined!r}: the "
            "pieces must join back to the string exactly, with no characters added or left out.")
    E102 = ("Special case {string!r} is empty or contains whitespace. Special cases apply "
            "within one whitespace-separated chunk; add one special case per chunk instead.")
    E103 = ("Cannot serialise the tokenizer's {name}: it is {obj!r}, not the search / finditer "
            "/ match method of a compiled regular expression. Pass a compiled pattern's method, "
            "or leave it out with `exclude=[{name!r}]`.")
    E104 = ("Cannot load tokenizer data{source}: {detail}. Expected msgpack data written by "
            "Tokenizer.to_bytes / to_disk (format version {version}).")

    # formats (E150-E199): DocBin, JSONL, CoNLL-U, IOB, convert
    E150 = ("{path}: not a DocBin (.spacy) file: the data is not zlib-compressed ({detail}). "
            "Check the path; a .spacy file is written by `DocBin.to_disk` or `convert`.")
    E151 = ("{path}: the DocBin payload is not valid msgpack ({detail}). The file is corrupt "
            "or truncated; write it again.")
    E152 = ("{path}: the DocBin has no {key!r} field (it has: {found}). The data was not "
            "written by `DocBin.to_bytes` or is corrupt.")
    E153 = "{path}: the DocBin field {key!r} should be {expected}, got {got}. The file is corrupt."
    E154 = "{path}: the DocBin token table does not fit its lengths: {detail}. The file is corrupt."
    E155 = ("{path}: {n} value(s) of {attr} in the DocBin (e.g. {example}) are not in its "
            "strings table. The file is corrupt or its strings were stripped.")
    E156 = "{path}: DocBin doc {i}: {detail}. The file is corrupt."
    E157 = ("Cannot merge DocBins with different {param}: {current} vs {other}. Create both "
            "with the same `attrs` and `store_user_data`.")
    E158 = ("on_error must be 'raise', 'skip' or a callable taking one BadRecord (path, "
            "line_number, raw_line, reason); got {value!r}.")
    E159 = "{path}:{line}: {reason}"
    E160 = "invalid JSON ({detail})"
    E161 = "a record must be a JSON object, got {type}"
    E162 = ("the record has neither 'text' nor 'tokens'; write {{\"text\": \"...\"}} or "
            "{{\"tokens\": [...], \"spaces\": [...]}}")
    E163 = "'text' must be a string, got {type}"
    E164 = "invalid pre-tokenized record: {detail}"
    E165 = ("the record has 'text' but no tokenizer was given: pass `make_doc=nlp.make_doc` "
            "(or an nlp object) to read_jsonl, or give 'tokens' and 'spaces'")
    E166 = "cannot build a Doc from the record's annotations: {detail}"
    E170 = ("a CoNLL-U token line needs 10 tab-separated fields (ID FORM LEMMA UPOS XPOS FEATS "
            "HEAD DEPREL DEPS MISC), got {n}")
    E171 = "invalid token ID {id!r}: expected an integer, a range like 3-4 or an empty node like 3.1"
    E172 = "token IDs must count 1, 2, 3... within a sentence: expected {expected}, got {got}"
    E173 = "HEAD {head!r} of token {id} is not a token of this sentence (0 for the root, 1-{n})"
    E174 = "invalid {column} {value!r}: {detail}"
    E175 = "the multiword token {id} covers words that never follow it"
    E180 = ("cannot read a token and NER tag from the line: expected 'token TAG', "
            "'index<TAB>token<TAB>TAG[<TAB>...]' or sentence-per-line 'token|TAG ...'")
    E181 = ("invalid entity tag {tag!r}: expected O, or B-, I-, L-, U-, E- or S- followed by a "
            "label, e.g. B-PER")
    E190 = "Input path {path} does not exist. Check the path (relative to {cwd})."
    E191 = ("Cannot tell the input format of {path} from its extension: pass --converter "
            "conllu, iob or jsonl.")
    E192 = "Unknown converter {name!r}: choose one of {known}."
    E193 = "Unknown file type {name!r}: choose spacy or jsonl."
    E194 = "No input files with a known extension (.conllu, .conll, .iob, .iob2, .jsonl) in {path}."
    E195 = ("{path} holds {{\"text\": ...}} records, which need a tokenizer: pass --lang (e.g. "
            "--lang en), or give pre-tokenized {{\"tokens\": [...], \"spaces\": [...]}} records.")
    E196 = "Output directory {path} is a file; give a directory (it is created when missing)."

    # config / language (E200-E249)
    E200 = ("Unknown name {name!r} in registry {registry!r}{where}. Nearest registered names: "
            "{known}. Check the spelling and version suffix, or import the module that "
            "registers it (`--code my_functions.py` on the command line).")
    E201 = ("Unknown registry {registry!r}{where}: a config block refers to registries as "
            "`@<registry> = \"name\"`. Nearest registries: {known}.")
    E202 = "The config is missing {n} value(s):\n{keys}\n{hint}"
    E203 = "Config file {path} not found. Create one with `python -m nlp_core init config`."
    E204 = ("Cannot apply overrides {keys} to config {source}: section(s) {sections} do not "
            "exist. Overrides are `section.key` (e.g. `paths.train`); add the section first.")
    E205 = "Cannot parse config {source}: {detail}"
    E206 = ("Invalid config override {arg!r}: expected `--section.key value` or "
            "`--section.key=value`, e.g. `--paths.train ./train.spacy`.")
    E207 = ("Unknown component factory {factory!r} for [components.{name}]. Nearest factories: "
            "{known}. Import the module that defines it, or register one with "
            "`@Language.factory(name)`.")
    E208 = "Set them in the config file or with `--section.key value` overrides."
    E209 = ("Run `python -m nlp_core init fill-config IN OUT` to add the defaults, then set the "
            "remaining values in the file or with `--section.key value` overrides.")
    E210 = ("Expected a str or a Doc to process, got {type}. Decode bytes first; build a "
            "pre-tokenized text as `Doc(nlp.vocab, words=[...], spaces=[...])`.")
    E212 = ("add_pipe takes the name of a registered factory (a str), got {type}. Register a "
            "function with `@Language.component(\"name\")` or a factory with "
            "`@Language.factory(\"name\")`, then call `nlp.add_pipe(\"name\")`.")
    E213 = ("A component named {name!r} is already in the pipeline {names}. Pass another name "
            "with `add_pipe(..., name=\"other\")` or remove the old one first.")
    E214 = "No component named {name!r}: the pipeline has {names}. Nearest: {known}."
    E215 = ("Give at most one of before={before!r}, after={after!r}, first={first!r}, "
            "last={last!r} to place a component.")
    E216 = ("Cannot place a component next to {ref!r}: it is neither a component name nor an "
            "index of the pipeline {names}.")
    E217 = ("Component {name!r} returned {type} instead of a Doc. A component must return the "
            "Doc it was given (from `__call__`) and yield Docs (from `pipe`).")
    E218 = "select_pipes needs `disable=` or `enable=` (a component name or a list of names)."
    E219 = ("Cannot load pipeline {name!r}: it is neither an existing directory nor an "
            "installed Python package, nor a pipeline shipped with nlp_core ({shipped}). "
            "Pass the directory that `nlp.to_disk` wrote.")
    E220 = ("No config.cfg in {path}: a pipeline directory holds config.cfg, meta.json, vocab/ "
            "and one folder per component, as written by `nlp.to_disk(path)`.")
    E221 = ("The config has no language: set `lang` in [nlp] (e.g. `lang = \"en\"`, or \"xx\" "
            "for any language).")
    E222 = ("[components.{name}] has no `factory`: set `factory = \"<registered factory>\"` "
            "(`source` blocks are not supported).")
    E223 = "A worker process of nlp.pipe(n_process=...) failed: {detail}"
    E224 = ("nlp.pipe(as_tuples=True) expects (text, context) pairs, got {item}. Pass e.g. "
            "`[(\"text\", {{\"id\": 1}}), ...]`.")
    E225 = ("[nlp] pipeline names {name!r} but the config has no [components.{name}] block. Add "
            "the block or remove the name from the pipeline.")
    E226 = "n_process must be a positive int or -1 (one process per CPU), got {n_process!r}."
    E227 = "Code file {path} not found: --code takes a Python file that registers functions."
    E228 = ("select_pipes got disable={disable} and enable={enable}, which disagree for the "
            "pipeline {names}: pass one of them.")
    E229 = ("init config cannot write components {names}: it knows {supported}. Pass those with "
            "--pipeline, then add other components to the config by hand.")
    E230 = ("Component name {name!r} contains a dot, which config sections use as separator "
            "([components.NAME]). Pass another name with `add_pipe(..., name=\"...\")`.")


    # model layers (E300-E349)
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

class Warnings(metaclass=_Catalogue):
    W001 = "Skipped {n} bad records in {path}: {reason}"


def nearest(name: str, known: Iterable[str], n: int = 3) -> str:
    """Return the known names closest to `name`, formatted for an error message."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    if not close:
        close = sorted(known)[:n]
    return ", ".join(repr(k) for k in close)
