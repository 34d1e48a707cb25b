"""A tiny random BERT and a matching WordPiece fast tokenizer, saved to a directory, for
tests that must not touch the hub."""
from pathlib import Path

WORDS = ("the cat sat on mat dog ran fast a an and is was in of to it he she they new york "
         "city hello world this sentence long text token piece un ##able ##s ##ing ##ed "
         "do n't can ca").split()
LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
PUNCT = ".,;:!?'\"()-/&$%"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_LENGTH = 24  # the tokenizer's model_max_length: long docs need several windows


def vocab_list() -> list:
    words = SPECIAL + list(LETTERS) + list(PUNCT) + ["##" + c for c in LETTERS]
    for word in WORDS:
        if word not in words:
            words.append(word)
    return words


def make_tiny_bert(path: Path, *, seed: int = 0, hidden: int = 32, layers: int = 2,
                   max_length: int = MAX_LENGTH) -> Path:
    """Write config.json, model.safetensors and tokenizer files of a random BERT."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = {w: i for i, w in enumerate(vocab_list())}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=50))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=max_length)
    fast.save_pretrained(str(path))
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden,
                        max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(str(path))
    return path


def hf_last_hidden_state(path: Path, texts):
    """A direct HF forward over `texts` (one sequence each, special tokens added):
    one (seq_len, width) numpy array per text."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    out = []
    with torch.no_grad():
        for text in texts:
            enc = tokenizer(text, return_tensors="pt")
            out.append(model(**enc).last_hidden_state[0].numpy())
    return out
