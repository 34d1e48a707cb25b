"""`init config` and `init fill-config` on the command line."""
from pathlib import Path

from typer.testing import CliRunner

from nlp_core.cli import app
from nlp_core.config import find_missing, load_config
from nlp_core.language import Language

SEED_CONFIGS = Path(__file__).parents[3] / "shared" / "seed" / "configs"
runner = CliRunner()


@Language.factory("test_cli.scorer", default_config={"threshold": 0.5})
def make_scorer(nlp, name, model, threshold: float):
    return lambda doc: doc


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_init_config_cpu_writes_a_complete_tok2vec_config(tmp_path):
    out = tmp_path / "config.cfg"
    result = run("init", "config", out, "--lang", "en", "--pipeline", "tagger,parser,ner")
    assert result.exit_code == 0, result.output
    config = load_config(out)
    assert find_missing(config) == []
    assert config["nlp"]["lang"] == "en"
    assert config["nlp"]["pipeline"] == ["tok2vec", "tagger", "parser", "ner"]
    tok2vec = config["components"]["tok2vec"]["model"]
    assert tok2vec["@architectures"] == "spacy.Tok2Vec.v2"
    assert tok2vec["embed"]["@architectures"] == "spacy.MultiHashEmbed.v2"
    assert tok2vec["embed"]["rows"] == [5000, 1000, 2500, 2500]
    assert tok2vec["encode"] == {"@architectures": "spacy.MaxoutWindowEncoder.v2",
                                 "width": 96, "depth": 4, "window_size": 1,
                                 "maxout_pieces": 3}
    assert config["components"]["tagger"]["model"]["@architectures"] == "spacy.Tagger.v2"
    parser = config["components"]["parser"]["model"]
    assert parser["@architectures"] == "spacy.TransitionBasedParser.v3"
    assert (parser["hidden_width"], parser["maxout_pieces"]) == (128, 3)
    assert config["components"]["ner"]["model"]["state_type"] == "ner"
    for name in ("tagger", "parser", "ner"):
        listener = config["components"][name]["model"]["tok2vec"]
        assert listener["@architectures"] == "spacy.Tok2VecListener.v1"
        assert listener["width"] == "${components.tok2vec.model.encode.width}"
    assert load_config(out, interpolate=True)["components"]["ner"]["model"]["tok2vec"][
        "width"] == 96


def test_init_config_accuracy_is_larger(tmp_path):
    out = tmp_path / "config.cfg"
    assert run("init", "config", out, "-p", "ner", "-o", "accuracy").exit_code == 0
    encode = load_config(out)["components"]["tok2vec"]["model"]["encode"]
    assert (encode["width"], encode["depth"]) == (256, 8)


def test_init_config_gpu_accuracy_uses_a_shared_transformer(tmp_path):
    out = tmp_path / "config.cfg"
    result = run("init", "config", out, "--pipeline", "tagger,ner", "--optimize", "accuracy",
                 "--gpu")
    assert result.exit_code == 0, result.output
    config = load_config(out)
    assert find_missing(config) == []
    assert config["nlp"]["pipeline"] == ["transformer", "tagger", "ner"]
    assert config["system"]["gpu_allocator"] == "pytorch"
    model = config["components"]["transformer"]["model"]
    assert model["@architectures"] == "spacy-transformers.TransformerModel.v3"
    assert model["get_spans"]["@span_getters"] == "spacy-transformers.strided_spans.v1"
    listener = config["components"]["ner"]["model"]["tok2vec"]
    assert listener["@architectures"] == "spacy-transformers.TransformerListener.v1"
    assert listener["pooling"] == {"@layers": "reduce_mean.v1"}
    assert config["components"]["ner"]["model"]["use_upper"] is False
    assert config["training"]["optimizer"]["learn_rate"]["@schedules"] == "warmup_linear.v1"


def test_init_config_to_stdout_and_errors(tmp_path):
    result = run("init", "config", "-", "-p", "tagger")
    assert result.exit_code == 0
    assert "[components.tagger.model]" in result.stdout
    result = run("init", "config", tmp_path / "c.cfg", "-p", "tagger,lemmatizer")
    assert result.exit_code == 1
    assert "lemmatizer" in result.output
    (tmp_path / "exists.cfg").write_text("")
    assert run("init", "config", tmp_path / "exists.cfg").exit_code == 1
    assert run("init", "config", tmp_path / "exists.cfg", "--force").exit_code == 0


def test_fill_config_completes_a_partial_config(tmp_path):
    partial = tmp_path / "partial.cfg"
    partial.write_text("""
[nlp]
lang = "en"
pipeline = ["scorer"]

[components]

[components.scorer]
factory = "test_cli.scorer"

[components.scorer.model]
@layers = "Relu.v1"
nO = 2
""", encoding="utf8")
    out = tmp_path / "filled.cfg"
    result = run("init", "fill-config", partial, out)
    assert result.exit_code == 0, result.output
    filled = load_config(out)
    assert find_missing(filled) == []
    assert filled["components"]["scorer"]["threshold"] == 0.5
    assert filled["components"]["scorer"]["model"]["dropout"] is None
    assert filled["training"]["batcher"]["size"]["@schedules"] == "compounding.v1"
    assert "pretraining" not in filled
    result = run("init", "fill-config", partial, out, "--pretraining")
    assert result.exit_code == 0, result.output
    assert load_config(out)["pretraining"]["component"] == "tok2vec"


def test_fill_config_imports_code_that_registers_functions(tmp_path):
    code = tmp_path / "custom_layers.py"
    code.write_text("""
from nlp_core.registry import registry

@registry.architectures("test_cli.Custom.v1")
def custom(width: int = 12, depth: int = 2):
    return (width, depth)
""", encoding="utf8")
    partial = tmp_path / "partial.cfg"
    partial.write_text('[nlp]\nlang = "en"\npipeline = ["scorer"]\n\n[components]\n\n'
                       '[components.scorer]\nfactory = "test_cli.scorer"\n\n'
                       '[components.scorer.model]\n@architectures = "test_cli.Custom.v1"\n',
                       encoding="utf8")
    result = run("init", "fill-config", partial, "-", "--code", code)
    assert result.exit_code == 0, result.output
    assert "width = 12" in result.stdout and "depth = 2" in result.stdout


def test_fill_config_fails_on_unregistered_names_naming_key_and_name(tmp_path):
    partial = tmp_path / "partial.cfg"
    partial.write_text('[nlp]\nlang = "en"\npipeline = ["scorer"]\n\n[components]\n\n'
                       '[components.scorer]\nfactory = "test_cli.scorer"\n\n'
                       '[components.scorer.model]\n@architectures = "spacy.Tok2Vek.v2"\n',
                       encoding="utf8")
    result = run("init", "fill-config", partial, tmp_path / "out.cfg")
    assert result.exit_code == 1
    assert "spacy.Tok2Vek.v2" in result.output and "spacy.Tok2Vec.v2" in result.output
    assert "components.scorer.model" in result.output
    assert not (tmp_path / "out.cfg").exists()


def test_fill_config_on_a_seed_config_names_what_is_not_built_yet(tmp_path):
    assert (SEED_CONFIGS / "shared_tok2vec_ner.cfg").exists(), "../shared/seed is missing"
    result = run("init", "fill-config", SEED_CONFIGS / "shared_tok2vec_ner.cfg",
                 tmp_path / "out.cfg")
    if result.exit_code == 0:  # the architectures and factories have landed
        assert find_missing(load_config(tmp_path / "out.cfg")) == []
    else:
        assert "[components." in result.output
