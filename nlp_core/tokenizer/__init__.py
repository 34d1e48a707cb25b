"""Rule-based tokenizer: `Tokenizer`, `create_tokenizer(vocab, defaults)` and rule compilers."""
from .regex import compile_infix_regex, compile_prefix_regex, compile_suffix_regex
from .tokenizer import Tokenizer, create_tokenizer

__all__ = ["Tokenizer", "create_tokenizer", "compile_prefix_regex", "compile_suffix_regex",
           "compile_infix_regex"]
