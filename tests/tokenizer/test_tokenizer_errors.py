"""Bad input: non-string text raises TypeError naming the type."""
import pytest


@pytest.mark.parametrize("value,type_name", [(b"bytes", "bytes"), (None, "NoneType"),
                                             (42, "int"), (["a"], "list")])
def test_non_str_raises_type_error(en_tokenizer, value, type_name):
    with pytest.raises(TypeError, match=type_name):
        en_tokenizer(value)
    with pytest.raises(TypeError, match=type_name):
        list(en_tokenizer.pipe(["fine", value]))


def test_str_subclass_is_accepted(en_tokenizer):
    class Text(str):
        pass

    assert en_tokenizer(Text("a b")).text == "a b"


def test_pipe_yields_one_doc_per_text_in_order(en_tokenizer):
    docs = list(en_tokenizer.pipe(["one", "two three", ""], batch_size=2))
    assert [d.text for d in docs] == ["one", "two three", ""]
