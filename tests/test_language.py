"""The pipeline object: running components, managing the pipeline, config, save and load."""
import sys

import pytest
import srsly

import nlp_core
from nlp_core.language import Language
from nlp_core.registry import registry
from nlp_core.tokens import Doc


@registry.tokenizers("test_language.Whitespace.v1")
def make_whitespace_tokenizer():
    """Splits on single spaces; lets these tests run independently of the English rules."""

    def create(nlp):
        def tokenize(text):
            return Doc(nlp.vocab, words=text.split(" ") if text else [])

        return tokenize

    return create


@Language.component("test_language_mark")
def mark(doc):
    doc.user_data.setdefault("order", []).append("mark")
    return doc


class Counter:
    """A component with settings, a batch method and data on disk."""

    def __init__(self, name, width, label):
        self.name, self.width, self.label = name, width, label
        self.batches = []
        self.learned = {}

    def __call__(self, doc):
        doc.user_data.setdefault("order", []).append(self.name)
        doc.user_data["width"] = self.width
        return doc

    def pipe(self, docs, batch_size):
        batch = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == batch_size:
                yield from self._run(batch)
                batch = []
        yield from self._run(batch)

    def _run(self, batch):
        if batch:
            self.batches.append(len(batch))
        return [self(doc) for doc in batch]

    def to_disk(self, path):
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_msgpack(path / "data.msgpack", self.learned)

    def from_disk(self, path):
        self.learned = srsly.read_msgpack(path / "data.msgpack")
        return self


@Language.factory("test_language_counter", default_config={"width": 3, "label": "X"})
def make_counter(nlp, name, width: int, label: str):
    return Counter(name, width, label)


@Language.component("test_language_broken")
def broken(doc):
    return None


@pytest.fixture
def nlp():
    return Language.from_config({"nlp": {"lang": "en", "tokenizer": {
        "@tokenizers": "test_language.Whitespace.v1"}}})


def test_text_runs_through_the_components_in_order(nlp):
    nlp.add_pipe("test_language_counter", config={"width": 7})
    nlp.add_pipe("test_language_mark")
    doc = nlp("a b c")
    assert [t.text for t in doc] == ["a", "b", "c"]
    assert doc.user_data == {"order": ["test_language_counter", "mark"], "width": 7}


def test_a_pretokenized_doc_keeps_its_tokens(nlp):
    nlp.add_pipe("test_language_mark")
    doc = Doc(nlp.vocab, words=["New", "York", "!"], spaces=[True, False, False])
    out = nlp(doc)
    assert out is doc
    assert [t.text for t in out] == ["New", "York", "!"]
    assert out.text == "New York!"
    assert out.user_data["order"] == ["mark"]


@pytest.mark.parametrize("bad", [b"bytes", 3, None, ["a", "b"]])
def test_non_text_input_is_a_type_error_naming_the_type(nlp, bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        nlp(bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        list(nlp.pipe([bad]))


def test_component_must_return_a_doc(nlp):
    nlp.add_pipe("test_language_broken")
    with pytest.raises(ValueError, match="test_language_broken"):
        nlp("a")


def test_pipe_batches_components_and_keeps_order(nlp):
    counter = nlp.add_pipe("test_language_counter")
    texts = [f"t{i} x" for i in range(10)]
    docs = list(nlp.pipe(texts, batch_size=4))
    assert [doc.text for doc in docs] == [t + " " for t in texts]
    assert counter.batches == [4, 4, 2]


def test_pipe_as_tuples_keeps_contexts(nlp):
    nlp.add_pipe("test_language_mark")
    pairs = [("a b", {"id": 1}), ("c", {"id": 2})]
    out = list(nlp.pipe(pairs, as_tuples=True))
    assert [(doc.text, ctx) for doc, ctx in out] == [("a b ", {"id": 1}), ("c ", {"id": 2})]
    with pytest.raises(ValueError, match="pairs"):
        list(nlp.pipe(["no context"], as_tuples=True))


def test_add_pipe_places_components(nlp):
    nlp.add_pipe("test_language_mark", name="m1")
    nlp.add_pipe("test_language_mark", name="m3")
    nlp.add_pipe("test_language_mark", name="m2", before="m3")
    nlp.add_pipe("test_language_mark", name="m0", first=True)
    nlp.add_pipe("test_language_mark", name="m4", after=3)
    assert nlp.pipe_names == ["m0", "m1", "m2", "m3", "m4"]
    assert nlp.has_pipe("m2") and not nlp.has_pipe("m9")
    assert nlp.get_pipe("m2") is mark
    assert nlp.remove_pipe("m0") == ("m0", mark)
    nlp.rename_pipe("m4", "last")
    assert nlp.pipe_names == ["m1", "m2", "m3", "last"]


def test_add_pipe_errors_say_what_to_change(nlp):
    nlp.add_pipe("test_language_mark", name="m")
    with pytest.raises(ValueError, match="already in the pipeline"):
        nlp.add_pipe("test_language_mark", name="m")
    with pytest.raises(ValueError, match="registered factory"):
        nlp.add_pipe(mark)
    with pytest.raises(ValueError, match="'test_language_mark'"):
        nlp.add_pipe("test_language_marc")
    with pytest.raises(ValueError, match="at most one"):
        nlp.add_pipe("test_language_mark", name="x", first=True, after="m")
    with pytest.raises(ValueError, match="'nope'"):
        nlp.add_pipe("test_language_mark", name="x", before="nope")
    with pytest.raises(ValueError, match="widht"):
        nlp.add_pipe("test_language_counter", config={"widht": 3})
    with pytest.raises(KeyError, match="'m'"):
        nlp.get_pipe("n")
    with pytest.raises(ValueError, match="dot"):
        nlp.add_pipe("test_language_mark", name="my.mark")


def test_select_pipes_disables_and_restores(nlp):
    for name in ("a", "b", "c"):
        nlp.add_pipe("test_language_mark", name=name)
    with nlp.select_pipes(disable=["b"]) as disabled:
        assert disabled == ["b"]
        assert nlp.pipe_names == ["a", "c"]
        assert nlp.component_names == ["a", "b", "c"]
        assert nlp("x").user_data["order"] == ["mark", "mark"]
    assert nlp.pipe_names == ["a", "b", "c"]
    disabled = nlp.select_pipes(enable="c")
    assert nlp.pipe_names == ["c"] and nlp.disabled == ["a", "b"]
    disabled.restore()
    assert nlp.disabled == []
    with pytest.raises(ValueError, match="disable="):
        nlp.select_pipes()
    with pytest.raises(KeyError, match="'zz'"):
        nlp.select_pipes(disable=["zz"])


def test_config_recreates_the_pipeline(nlp):
    nlp.add_pipe("test_language_counter", config={"width": 5})
    nlp.add_pipe("test_language_mark")
    config = nlp.config
    assert config["nlp"]["pipeline"] == ["test_language_counter", "test_language_mark"]
    assert config["components"]["test_language_counter"] == {
        "factory": "test_language_counter", "width": 5, "label": "X"}
    assert config["training"]["optimizer"]["@optimizers"] == "Adam.v1"
    nlp2 = Language.from_config(config)
    assert nlp2.pipe_names == nlp.pipe_names
    assert nlp2.get_pipe("test_language_counter").width == 5
    assert nlp2.config == config


def test_from_config_with_disabled_and_excluded_components(nlp):
    for name in ("a", "b", "c"):
        nlp.add_pipe("test_language_mark", name=name)
    config = nlp.config
    config["nlp"]["disabled"] = ["a"]
    nlp2 = Language.from_config(config, exclude=["c"])
    assert nlp2.component_names == ["a", "b"] and nlp2.pipe_names == ["b"]
    del config["components"]["b"]
    with pytest.raises(ValueError, match=r"\[components.b\]"):
        Language.from_config(config)


def test_to_disk_and_load_round_trip(nlp, tmp_path):
    counter = nlp.add_pipe("test_language_counter", config={"width": 9})
    counter.learned = {"labels": ["A", "B"]}
    nlp.add_pipe("test_language_mark")
    nlp.vocab.strings.add("rare-string")
    nlp.meta = {"name": "test_pipe", "version": "1.2.3"}
    nlp.to_disk(tmp_path / "pipe")
    files = {p.name for p in (tmp_path / "pipe").iterdir()}
    assert {"config.cfg", "meta.json", "vocab", "test_language_counter"} <= files
    assert not list((tmp_path / "pipe").rglob("*.pkl"))
    meta = srsly.read_json(tmp_path / "pipe" / "meta.json")
    assert meta["name"] == "test_pipe" and meta["lang"] == "en"
    assert meta["pipeline"] == ["test_language_counter", "test_language_mark"]
    assert meta["nlp_core_version"] == nlp_core.__version__

    loaded = nlp_core.load(tmp_path / "pipe")
    assert loaded.pipe_names == nlp.pipe_names
    assert loaded.get_pipe("test_language_counter").learned == {"labels": ["A", "B"]}
    assert loaded.get_pipe("test_language_counter").width == 9
    assert "rare-string" in loaded.vocab.strings
    assert loaded.meta["version"] == "1.2.3"
    assert loaded.config == nlp.config
    assert loaded("a b").user_data["width"] == 9


def test_load_an_installed_package(nlp, tmp_path, monkeypatch):
    nlp.add_pipe("test_language_mark")
    package = tmp_path / "test_language_pkg"
    nlp.to_disk(package / "test_language_pkg-0.0.1")
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        loaded = nlp_core.load("test_language_pkg")
    finally:
        sys.modules.pop("test_language_pkg", None)
    assert loaded.pipe_names == ["test_language_mark"]


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(OSError, match="no_such_pipeline"):
        nlp_core.load("no_such_pipeline")
    with pytest.raises(OSError, match="config.cfg"):
        nlp_core.load(tmp_path)


def test_pipe_in_two_processes_matches_one(nlp):
    nlp.add_pipe("test_language_counter", config={"width": 4})

    def texts():
        yield from (f"doc {i} words" for i in range(9))
        yield Doc(nlp.vocab, words=["pre", "tokenized"], spaces=[False, False])

    single = [(d.text, d.user_data) for d in nlp.pipe(texts(), batch_size=2)]
    multi = [(d.text, d.user_data) for d in nlp.pipe(texts(), batch_size=2, n_process=2)]
    assert multi == single
    assert multi[-1][0] == "pretokenized"
    with pytest.raises(TypeError, match="int"):
        list(nlp.pipe(["ok", 5], n_process=2))


def test_blank_english_tokenizes_with_the_language_rules():
    nlp = nlp_core.blank("en")
    assert nlp.lang == "en" and nlp.pipe_names == []
    doc = nlp("Hello, world!")
    assert [t.text for t in doc] == ["Hello", ",", "world", "!"]
    assert doc.text == "Hello, world!"
    assert nlp.config["nlp"]["tokenizer"] == {"@tokenizers": "nlp_core.Tokenizer.v1"}


def test_blank_generic_language():
    nlp = nlp_core.blank("xx")
    assert nlp.lang == "xx"
    assert nlp("two words").text == "two words"


def test_blank_pipeline_saves_and_loads_its_tokenizer(tmp_path):
    nlp = nlp_core.blank("en")
    nlp.to_disk(tmp_path)
    loaded = nlp_core.load(tmp_path)
    text = "Don't stop, it's 5pm."
    assert [t.text for t in loaded(text)] == [t.text for t in nlp(text)]
