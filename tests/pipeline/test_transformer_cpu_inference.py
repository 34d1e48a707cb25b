"""The transformer's `cpu_inference` setting: bfloat16 / int8 predictions close to float32,
the setting kept in config.cfg (weights saved as float32) and set at load, training
refused, and the int8 copy remade when the weights change."""
import warnings

import numpy
import pytest
import torch
from pipeline.toy_pipelines import TOY, make_examples
from safetensors.numpy import load_file
from thinc.api import fix_random_seed

import nlp_core
from nlp_core.ml.transformer import cpu_inference
from nlp_core.ml.transformer.cpu_inference import quantize_int8

DOC_SPANS = {"@span_getters": "spacy-transformers.doc_spans.v1"}
TEXTS = [text for text, _, _ in TOY] + ["the cat sat on the mat and the dog ran fast " * 3]
SETTING = "components.transformer.cpu_inference"


@pytest.fixture(autouse=True)
def _one_thread_and_seeded(one_torch_thread):
    fix_random_seed(0)


def tagger_nlp(path, cpu_inference="float32"):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": str(path), "get_spans": DOC_SPANS},
                                        "cpu_inference": cpu_inference})
    nlp.add_pipe("tagger", config={"model": {"tok2vec": {
        "@architectures": "spacy-transformers.TransformerListener.v1", "grad_factor": 1.0,
        "pooling": {"@layers": "reduce_mean.v1"}}}})
    nlp.initialize(lambda: make_examples(nlp))
    return nlp


def outputs(nlp, texts=TEXTS):
    return [doc._.trf_data.wordpiece_output.copy() for doc in nlp.pipe(texts)]


def set_cpu_inference(nlp, value):
    trf = nlp.get_pipe("transformer")
    trf.cpu_inference = value
    trf._sync_settings()


def assert_close(got, want, *, rtol):
    for g, w in zip(got, want):
        assert g.dtype == numpy.float32 and g.shape == w.shape
        assert numpy.abs(g - w).max() <= rtol * numpy.abs(w).max()


def test_int8_and_bfloat16_predict_close_to_float32(tiny_bert):
    nlp = tagger_nlp(tiny_bert)
    want = outputs(nlp)
    wrapped = nlp.get_pipe("transformer").model.shims[0]._model
    for value, rtol in (("bfloat16", 0.03), ("int8", 0.05)):
        set_cpu_inference(nlp, value)
        got = outputs(nlp)
        assert_close(got, want, rtol=rtol)
        assert any(not numpy.array_equal(g, w) for g, w in zip(got, want))
    kinds = {type(m) for m in wrapped._int8[0].modules()}
    assert torch.ao.nn.quantized.dynamic.Linear in kinds
    assert torch.nn.Linear in kinds  # the down-projections stay float32
    assert torch.ao.nn.quantized.dynamic.Linear not in {
        type(m) for m in wrapped.encoder.modules()}
    # the int8 copy is no submodule: the optimizer and state_dict see the float32 weights
    assert all(not k.startswith("_int8") for k in wrapped.state_dict())


def test_quantized_copy_keeps_the_float_encoder(tiny_bert):
    nlp = tagger_nlp(tiny_bert)
    encoder = nlp.get_pipe("transformer").model.encoder
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    quantized = quantize_int8(encoder)
    assert quantized is not encoder and not quantized.training
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, before[key])


def test_setting_is_saved_in_the_config_weights_stay_float32(tiny_bert, tmp_path):
    nlp = tagger_nlp(tiny_bert, cpu_inference="int8")
    want = outputs(nlp)
    nlp.to_disk(tmp_path / "int8")
    weights = load_file(str(tmp_path / "int8" / "transformer" / "model" / "model.safetensors"))
    assert weights and all(w.dtype == numpy.float32 for w in weights.values())
    assert 'cpu_inference = "int8"' in (tmp_path / "int8" / "config.cfg").read_text()
    loaded = nlp_core.load(tmp_path / "int8")
    assert loaded.get_pipe("transformer").cpu_inference == "int8"
    assert_close(outputs(loaded), want, rtol=1e-6)
    # a float32 pipeline turned to int8 at load, and back
    set_cpu_inference(nlp, "float32")
    nlp.to_disk(tmp_path / "float")
    as_int8 = nlp_core.load(tmp_path / "float", config={SETTING: "int8"})
    assert as_int8.get_pipe("transformer").cpu_inference == "int8"
    assert_close(outputs(as_int8), want, rtol=1e-6)
    as_float = nlp_core.load(tmp_path / "int8", config={SETTING: "float32"})
    assert_close(outputs(as_float), outputs(nlp), rtol=1e-6)


def test_training_refuses_an_inference_setting(tiny_bert):
    nlp = tagger_nlp(tiny_bert, cpu_inference="int8")
    with pytest.raises(ValueError, match=r"E701.*--components.transformer.cpu_inference"):
        nlp.update(make_examples(nlp), sgd=nlp.create_optimizer())


def test_unknown_setting_names_the_component(tiny_bert):
    with pytest.raises(ValueError, match=r"E700.*\[components.transformer\].*'int4'"):
        tagger_nlp(tiny_bert, cpu_inference="int4")


def test_training_mode_runs_float32_and_new_weights_drop_the_int8_copy(tiny_bert):
    nlp = tagger_nlp(tiny_bert)
    model = nlp.get_pipe("transformer").model
    docs = [nlp.make_doc(text) for text in TEXTS]
    model.attrs["cpu_inference"] = "int8"
    full, _ = model.begin_update(docs)
    model.attrs["cpu_inference"] = "float32"
    numpy.testing.assert_allclose(full.wordpiece_output, model.predict(docs).wordpiece_output,
                                  atol=1e-5)
    model.attrs["cpu_inference"] = "int8"
    before = model.predict(docs).wordpiece_output
    wrapped = model.shims[0]._model
    assert wrapped._int8
    other = tagger_nlp(tiny_bert)  # same weights, then changed and copied over by bytes
    with torch.no_grad():
        for param in other.get_pipe("transformer").model.encoder.parameters():
            param.mul_(0.5)
    model.from_bytes(other.get_pipe("transformer").model.to_bytes())
    wrapped = model.shims[0]._model
    assert not wrapped._int8
    after = model.predict(docs).wordpiece_output
    assert not numpy.allclose(after, before, atol=1e-3)


@pytest.mark.parametrize("flags,native", [
    ("flags\t\t: fpu sse2 avx avx2 fma", False),
    ("flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni", True),
    ("flags\t\t: fpu avx2 amx_bf16 amx_tile", True),
    ("Features\t: fp asimd bf16 i8mm", True),
    ("Features\t: fp asimd", False),
    ("processor\t: 0", None),
])
def test_native_bfloat16_reads_the_cpu_flags(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: test CPU\n{flags}\n\n")
    assert cpu_inference.native_bfloat16(str(cpuinfo)) is native
    assert cpu_inference.native_bfloat16(str(tmp_path / "missing")) is None


def test_bfloat16_on_an_emulating_cpu_warns_once_per_process(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse2 avx avx2 fma\n")
    monkeypatch.setattr(cpu_inference, "_warned_emulated", False)
    with pytest.warns(UserWarning, match="bfloat16.*int8"):
        cpu_inference.warn_if_emulated(str(cpuinfo))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cpu_inference.warn_if_emulated(str(cpuinfo))  # once: silent now
    native = tmp_path / "native"
    native.write_text("flags\t\t: avx512_bf16\n")
    monkeypatch.setattr(cpu_inference, "_warned_emulated", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cpu_inference.warn_if_emulated(str(native))  # native: never
