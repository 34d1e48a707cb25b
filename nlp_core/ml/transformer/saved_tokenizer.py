"""A saved pipeline's BERT or RoBERTa tokenizer, read with the `tokenizers` library alone.

`transformers.AutoTokenizer` costs a process about a second of imports. A pipeline that
nlp_core saved holds its tokenizer as transformers wrote it: tokenizer.json is the
`tokenizers` pipeline (normalizer, pre-tokenizer, WordPiece vocabulary, post-processor)
exactly as transformers had built it, and tokenizer_config.json names the special tokens
and the length limit. For a BERT tokenizer, or one that transformers runs from
tokenizer.json as it is, that is all the windows use (windows.py's `Wordpiecer`: ids and
character offsets, the special tokens around a sequence, the padding id, the limit, the
vocabulary), so `load_saved` reads those files directly and `SavedTokenizer` answers the
same calls. A RoBERTa tokenizer (byte-level BPE) is read the same way when its
tokenizer_config.json's `add_prefix_space` and `trim_offsets` agree with the ByteLevel
pre-tokenizer and RobertaProcessing post-processor of its tokenizer.json, which is how
transformers saves one: transformers 5 runs tokenizer.json as it is, and 4.x's fast class
rebuilds those two parts from the config only where they disagree. Any other tokenizer,
or files it cannot read exactly, is left to `AutoTokenizer`.
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_FILE = "special_tokens_map.json"
# tokenizer files written back as read when the pipeline is saved again
KEPT_FILES = (TOKENIZER_FILE, CONFIG_FILE, SPECIAL_TOKENS_FILE, "added_tokens.json",
              "vocab.txt")
# the classes whose calls SavedTokenizer answers the same way: transformers 5's BertTokenizer
# (backed by `tokenizers`; 4.x saved the fast one under either name), and the generic
# classes that run a tokenizer.json as it is
CLASSES = ("BertTokenizer", "BertTokenizerFast", "TokenizersBackend",
           "PreTrainedTokenizerFast")
# byte-level BPE classes, read only where their settings agree (module docstring)
ROBERTA_CLASSES = ("RobertaTokenizer", "RobertaTokenizerFast")
ROBERTA_SETTINGS = ("add_prefix_space", "trim_offsets")
# transformers' model_max_length when a tokenizer has no limit
NO_LIMIT = int(1e30)


class SavedTokenizer:
    """The calls windows.py makes of a HF fast tokenizer, answered by a `tokenizers`
    Tokenizer (truncation and padding off, as transformers runs it with truncation=False).

    Attributes:
        backend: the `tokenizers.Tokenizer`.
        model_max_length: the longest input the tokenizer allows (NO_LIMIT: none given).
        pad_token_id: the padding token's id, or None.
        is_fast: True (character offsets come with the ids).
    """

    is_fast = True

    def __init__(self, backend: Tokenizer, files: Dict[str, bytes], *,
                 model_max_length: int, pad_token_id: Optional[int]) -> None:
        backend.no_truncation()
        backend.no_padding()
        self.backend = backend
        self._files = dict(files)
        self.model_max_length = model_max_length
        self.pad_token_id = pad_token_id

    def __call__(self, text: Union[str, Sequence[str]], *, add_special_tokens: bool = True,
                 truncation: bool = False, return_offsets_mapping: bool = False,
                 return_attention_mask: bool = False, return_token_type_ids: bool = False,
                 verbose: bool = False) -> Dict[str, List[Any]]:
        """{"input_ids": ids[, "offset_mapping": (start, end) per id]} of one text (lists)
        or of each of a list of texts (lists of lists)."""
        if truncation or return_attention_mask or return_token_type_ids:
            raise ValueError("SavedTokenizer gives ids and offsets only, untruncated")
        single = isinstance(text, str)
        encodings = self.backend.encode_batch([text] if single else list(text),
                                              add_special_tokens=add_special_tokens)
        out: Dict[str, List[Any]] = {"input_ids": [e.ids for e in encodings]}
        if return_offsets_mapping:
            out["offset_mapping"] = [e.offsets for e in encodings]
        return {key: value[0] for key, value in out.items()} if single else out

    def __len__(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> Dict[str, int]:
        return self.backend.get_vocab(with_added_tokens=True)

    def save_pretrained(self, path: str) -> None:
        """Write the tokenizer files back as they were read."""
        Path(path).mkdir(parents=True, exist_ok=True)
        for name, data in self._files.items():
            (Path(path) / name).write_bytes(data)


def _token_text(value: Any) -> Optional[str]:
    """A special token as tokenizer_config.json gives it: a string or {"content": ...}."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def load_saved(directory: Path) -> Optional[SavedTokenizer]:
    """The tokenizer saved in `directory` as a SavedTokenizer, or None when it is not one
    (no tokenizer.json, a class other than CLASSES, a RoBERTa class whose settings
    disagree with its tokenizer.json, files that do not parse, a padding token missing
    from the vocabulary)."""
    directory = Path(directory)
    files: Dict[str, bytes] = {}
    for name in KEPT_FILES:
        try:
            files[name] = (directory / name).read_bytes()
        except FileNotFoundError:
            continue
        except OSError:
            return None
    if TOKENIZER_FILE not in files or CONFIG_FILE not in files:
        return None
    try:
        settings = json.loads(files[CONFIG_FILE])
        special = json.loads(files.get(SPECIAL_TOKENS_FILE, b"{}"))
        backend = Tokenizer.from_str(files[TOKENIZER_FILE].decode("utf8"))
    except Exception:  # json's ValueError, or the plain Exception tokenizers raises
        return None
    if not isinstance(settings, dict) or not isinstance(special, dict):
        return None
    kind = settings.get("tokenizer_class")
    if kind not in CLASSES and not (kind in ROBERTA_CLASSES
                                    and _roberta_settings_agree(settings, files)):
        return None
    limit = settings.get("model_max_length", NO_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        return None
    pad = _token_text(settings.get("pad_token", special.get("pad_token")))
    pad_id = None if pad is None else backend.token_to_id(pad)
    if pad is not None and pad_id is None:
        return None
    return SavedTokenizer(backend, files, model_max_length=limit, pad_token_id=pad_id)


def _roberta_settings_agree(settings: Dict[str, Any], files: Dict[str, bytes]) -> bool:
    """Whether tokenizer.json is a ByteLevel pre-tokenizer and a RobertaProcessing
    post-processor whose `add_prefix_space` and `trim_offsets` are those that
    tokenizer_config.json gives (where it gives them)."""
    try:
        pipeline = json.loads(files[TOKENIZER_FILE])
    except ValueError:
        return False
    pre = pipeline.get("pre_tokenizer") if isinstance(pipeline, dict) else None
    post = pipeline.get("post_processor") if isinstance(pipeline, dict) else None
    if not isinstance(pre, dict) or pre.get("type") != "ByteLevel" or \
            not isinstance(post, dict) or post.get("type") != "RobertaProcessing":
        return False
    if settings.get("add_prefix_space", pre.get("add_prefix_space")) != \
            pre.get("add_prefix_space"):
        return False
    return all(settings.get(name, post.get(name)) == post.get(name)
               for name in ROBERTA_SETTINGS)
