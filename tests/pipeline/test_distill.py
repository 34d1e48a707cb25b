"""Distillation and rehearsal of the tagger, parser and NER: the loss is zero when the
teacher is the student, its gradients agree with finite differences on tiny models, the
teacher's scoring loop in C agrees with the numpy reference, teacher labels are added
first, a fresh student learns a trained teacher's outputs from raw text, and
`nlp.resume_training()` / `nlp.rehearse()` keep the old predictions."""
import numpy
import pytest
from thinc.api import Adam, fix_random_seed

import nlp_core
from nlp_core.language_distill import TeacherCache, teacher_examples
from nlp_core.ml.distill_loss import kl_to_teacher
from nlp_core.ml.parser_distill import score_actions, score_actions_python
from nlp_core.parser_internals import GreedyBatch
from nlp_core.training import Example

WIDTH = 16
TOK2VEC = {"@architectures": "spacy.Tok2Vec.v2",
           "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": WIDTH,
                     "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                     "rows": [300, 100, 100, 100], "include_static_vectors": False},
           "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": WIDTH,
                      "depth": 1, "window_size": 1, "maxout_pieces": 2}}
LISTENER = {"@architectures": "spacy.Tok2VecListener.v1", "width": WIDTH}
PARSED = [
    ("I like green eggs", [1, 1, 3, 1], ["nsubj", "ROOT", "amod", "dobj"]),
    ("Eat blue ham", [0, 2, 0], ["ROOT", "amod", "dobj"]),
    ("They eat green ham", [1, 1, 3, 1], ["nsubj", "ROOT", "amod", "dobj"]),
    ("We like eggs", [1, 1, 1], ["nsubj", "ROOT", "dobj"]),
]
TAGS = [["PRP", "VBP", "JJ", "NNS"], ["VB", "JJ", "NN"], ["PRP", "VBP", "JJ", "NN"],
        ["PRP", "VBP", "NNS"]]
ENTS = [
    ("I flew to New York with Mary", ["O", "O", "O", "B-LOC", "L-LOC", "O", "U-PER"]),
    ("Mary lives in Paris", ["U-PER", "O", "O", "U-LOC"]),
    ("John Smith likes New York", ["B-PER", "L-PER", "O", "B-LOC", "L-LOC"]),
    ("We saw John in Paris", ["O", "O", "U-PER", "O", "U-LOC"]),
]
RAW = ["I like blue eggs", "They eat ham", "Mary likes New York", "We saw green ham in Paris",
       "John eats eggs", "Eat green eggs"]

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def make_nlp(components=("tagger", "parser", "ner"), shared=True, seed=0, hidden=16):
    fix_random_seed(seed)
    nlp = nlp_core.blank("en")
    if shared:
        nlp.add_pipe("tok2vec", config={"model": TOK2VEC})
    t2v = LISTENER if shared else TOK2VEC
    for name in components:
        if name == "tagger":
            nlp.add_pipe("tagger", config={"model": {"tok2vec": t2v}})
        else:
            nlp.add_pipe(name, config={"model": {"tok2vec": t2v, "hidden_width": hidden,
                                                 "maxout_pieces": 2},
                                       **({"min_action_freq": 1} if name == "parser" else {})})
    return nlp


def gold_examples(nlp):
    out = []
    for (text, heads, deps), tags in zip(PARSED, TAGS):
        out.append(Example.from_dict(nlp.make_doc(text), {"heads": heads, "deps": deps,
                                                          "tags": tags}))
    for text, ents in ENTS:
        out.append(Example.from_dict(nlp.make_doc(text), {"entities": ents}))
    return out


def raw_examples(nlp, texts=RAW):
    return [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in texts]


def trained(components=("tagger", "parser", "ner"), shared=True, steps=40):
    nlp = make_nlp(components, shared)
    examples = gold_examples(nlp)
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.01)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp


@pytest.fixture(scope="module")
def teacher():
    return trained()


@pytest.mark.parametrize("name", ["tagger", "parser", "ner"])
def test_loss_is_zero_when_the_teacher_is_the_student(teacher, name):
    pipe = teacher.get_pipe(name)
    before = pipe.model.to_bytes()
    pairs = teacher_examples(teacher, raw_examples(teacher))
    # the student's embedding is the teacher's own: hand the same outputs over
    losses = pipe.distill(pipe, pairs, drop=0.0, sgd=None)
    assert losses[name] == pytest.approx(0.0, abs=1e-6)
    assert pipe.model.to_bytes() == before  # no step was taken
    for node in pipe.model.walk():
        for param in node.param_names:
            if node.has_grad(param):
                assert numpy.abs(node.get_grad(param)).max() < 1e-4, (node.name, param)
                node.set_grad(param, numpy.zeros_like(node.get_grad(param)))


def test_kl_loss_and_gradient():
    rng = numpy.random.default_rng(0)
    S = rng.normal(size=(5, 6))
    T = rng.normal(size=(5, 6))
    allowed = rng.random((5, 6)) < 0.7
    allowed[:, 0] = True
    loss, d = kl_to_teacher(S, T, allowed)
    eps = 1e-6
    for i, j in [(0, 0), (1, 3), (4, 5), (2, 1)]:
        if not allowed[i, j]:
            continue
        up, down = S.copy(), S.copy()
        up[i, j] += eps
        down[i, j] -= eps
        numeric = (kl_to_teacher(up, T, allowed)[0] - kl_to_teacher(down, T, allowed)[0])
        assert numeric / (2 * eps) == pytest.approx(d[i, j], abs=1e-5)
    assert kl_to_teacher(S, S, allowed)[0] == pytest.approx(0.0, abs=1e-12)
    assert loss > 0
    assert (d[~allowed] == 0).all()


def _numeric_gradient(pipe, teacher_pipe, pairs, node, param, index, eps=1e-3):
    values = node.get_param(param)
    original = values[index]

    def loss_at(value):
        values[index] = value
        node.set_param(param, values)
        return pipe.distill(teacher_pipe, pairs, drop=0.0)[pipe.name]

    up = loss_at(original + eps)
    down = loss_at(original - eps)
    values[index] = original
    node.set_param(param, values)
    return (up - down) / (2 * eps)


def _zero_grads(model):
    for node in model.walk():
        for param in node.param_names:
            if node.has_grad(param):
                node.set_grad(param, numpy.zeros_like(node.get_grad(param)))


@pytest.mark.parametrize("name", ["tagger", "parser", "ner"])
def test_gradients_match_finite_differences(teacher, name):
    """A tiny student with its own tok2vec (independent of the teacher's): the gradient
    the distillation backprop leaves on a few weights of each layer matches central
    differences of the loss (the student's moves stay the same under the tiny change)."""
    student = make_nlp((name,), shared=False, seed=3, hidden=8)
    pipe = student.get_pipe(name)
    teacher_pipe = teacher.get_pipe(name)
    pipe.initialize_distillation(teacher_pipe, lambda: raw_examples(student), nlp=student)
    pairs = teacher_examples(teacher, raw_examples(student, RAW[:3]))
    # move off the zero-initialised output layer so every layer gets a gradient
    rng = numpy.random.default_rng(1)
    for node in pipe.model.walk():
        for param in node.param_names:
            if node.has_param(param):
                value = node.get_param(param)
                node.set_param(param, value + rng.normal(0, 0.1, size=value.shape).astype("f"))
    _zero_grads(pipe.model)
    pipe.distill(teacher_pipe, pairs, drop=0.0)
    analytic = {}
    checked = 0
    for node in pipe.model.walk():
        for param in node.param_names:
            if not node.has_grad(param):
                continue
            grad = node.get_grad(param).copy()
            flat = numpy.argsort(-numpy.abs(grad).reshape(-1))[:2]
            for k in flat.tolist():
                index = numpy.unravel_index(k, grad.shape)
                analytic[(node.id, param, index)] = (node, float(grad[index]))
    _zero_grads(pipe.model)
    for (_, param, index), (node, value) in analytic.items():
        if abs(value) < 1e-3:
            continue
        numeric = _numeric_gradient(pipe, teacher_pipe, pairs, node, param, index)
        assert numeric == pytest.approx(value, rel=0.05, abs=2e-3), (node.name, param, index)
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("name", ["parser", "ner"])
def test_teacher_scores_in_c_match_the_reference(teacher, name):
    pipe = teacher.get_pipe(name)
    pairs = teacher_examples(teacher, raw_examples(teacher))
    docs = [eg.reference for eg in pairs]
    run = GreedyBatch(pipe.moves, [len(d) for d in docs])
    pipe.model.predict((docs, [run]))
    actions = [run.history(i) for i in range(run.n_states)]
    n_rows = sum(len(a) for a in actions)
    sizes_c, scores_c = score_actions(pipe.model, docs, GreedyBatch(
        pipe.moves, [len(d) for d in docs]), actions, n_rows, use_c=True)
    model = pipe.model
    F = model.get_ref("hidden").predict(model.get_ref("projection").predict(docs))
    batch = GreedyBatch(pipe.moves, [len(d) for d in docs])
    sizes_py, scores_py = score_actions_python(model, F, batch, actions)
    assert sizes_c.tolist() == sizes_py.tolist()
    assert sizes_c.sum() == n_rows
    numpy.testing.assert_allclose(scores_c, scores_py, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="more than max_rows"):
        score_actions(pipe.model, docs, GreedyBatch(pipe.moves, [len(d) for d in docs]),
                      actions, n_rows - 1, use_c=True)


def test_teacher_labels_are_added_first(teacher):
    student = make_nlp(("ner",), shared=False, seed=2)
    ner = student.get_pipe("ner")
    ner.initialize(lambda: [Example.from_dict(student.make_doc("Mary sleeps"),
                                              {"entities": ["U-PER", "O"]})])
    assert ner.labels == ("PER",)
    losses = ner.distill(teacher.get_pipe("ner"), teacher_examples(teacher, raw_examples(student)))
    assert set(ner.labels) == {"PER", "LOC"}
    assert losses["ner"] > 0
    tagger_student = make_nlp(("tagger",), shared=False, seed=2)
    tagger = tagger_student.get_pipe("tagger")
    tagger.initialize(lambda: [Example.from_dict(tagger_student.make_doc("We eat"),
                                                 {"tags": ["PRP", "VBP"]})])
    tagger.distill(teacher.get_pipe("tagger"), teacher_examples(teacher, raw_examples(student)))
    assert set(tagger.labels) == set(teacher.get_pipe("tagger").labels)


def test_errors_name_the_problem(teacher):
    student = make_nlp(("ner",), shared=False)
    ner = student.get_pipe("ner")
    with pytest.raises(TypeError, match="E600"):
        ner.distill(teacher.get_pipe("parser"), raw_examples(student))
    mismatched = [Example(student.make_doc("New York"), student.make_doc("New York City"))]
    with pytest.raises(ValueError, match="E601"):
        ner.distill(teacher.get_pipe("ner"), mismatched)
    with pytest.raises(ValueError, match="E602"):
        ner.rehearse(raw_examples(student))
    upos = make_nlp(("tagger",), shared=False).get_pipe("tagger")
    upos.cfg["attr"] = "pos"
    with pytest.raises(ValueError, match="E609"):
        upos.distill(teacher.get_pipe("tagger"), raw_examples(student))
    with pytest.raises(ValueError, match="E602"):
        student.rehearse(raw_examples(student))
    with pytest.raises(ValueError, match="E604"):
        student.distill(teacher, raw_examples(student), student_to_teacher={"ner": "nope"})


def _outputs(nlp, texts):
    docs = list(nlp.pipe(texts))
    return [([t.head.i for t in d], [t.dep_ for t in d], [t.tag_ for t in d],
             [(e.start, e.end, e.label_) for e in d.ents]) for d in docs]


def fresh_student(teacher, seed=5):
    """A student of the teacher's architecture, its own seeded weights, initialised for
    distillation from the teacher (labels) and the raw text (shapes)."""
    student = make_nlp(seed=seed)
    examples = raw_examples(student)
    for name in ("tagger", "parser", "ner"):
        student.get_pipe(name).initialize_distillation(teacher.get_pipe(name),
                                                       lambda: examples, nlp=student)
    student.get_pipe("tok2vec").initialize(lambda: examples)
    return student


def test_a_fresh_student_learns_the_teacher_from_raw_text(teacher):
    """The student (its own, differently seeded weights) sees only raw text; after
    distillation it reproduces the teacher's tags, trees and entities on that text."""
    student = fresh_student(teacher)
    optimizer = Adam(0.01)
    first = None
    for _ in range(60):
        losses = student.distill(teacher, raw_examples(student), sgd=optimizer)
        first = first or dict(losses)
    assert all(losses[n] < 0.2 * first[n] for n in ("tagger", "parser", "ner")), (first, losses)
    assert _outputs(student, RAW) == _outputs(teacher, RAW)


def test_rehearsal_keeps_the_old_predictions():
    """Fine-tune the NER on a new label: with rehearsal on raw text the old entities of
    the pipeline survive better than without."""
    texts = ["I flew to Paris with Mary", "John Smith likes New York", "Mary lives in Paris",
             "We saw John in New York"]
    kept = {}
    for rehearse in (False, True):
        nlp = trained(("ner",), shared=False, steps=40)
        before = _outputs(nlp, texts)
        ner = nlp.get_pipe("ner")
        ner.add_label("FOOD")
        optimizer = nlp.resume_training(sgd=Adam(0.01))
        new = [Example.from_dict(nlp.make_doc("We eat ham and eggs"),
                                 {"entities": ["O", "O", "U-FOOD", "O", "U-FOOD"]})]
        for _ in range(30):
            nlp.update(new, sgd=optimizer)
            if rehearse:
                nlp.rehearse(raw_examples(nlp, texts), sgd=optimizer)
        after = _outputs(nlp, texts)
        kept[rehearse] = sum(len(set(b[3]) & set(a[3])) for b, a in zip(before, after))
        total = sum(len(b[3]) for b in before)
    print(f"entities kept of {total} (without, with rehearsal):", kept)
    assert kept[True] > kept[False], kept


def test_frozen_components_keep_their_weights_but_teach_the_embedding(teacher):
    """rehearse(frozen=[...]): the frozen heads' weights stay, with no gradient left
    pending, while their gradient still moves the shared tok2vec."""
    nlp = trained(("tagger", "parser"), shared=True, steps=10)
    optimizer = nlp.resume_training(sgd=Adam(0.01))
    # move the tok2vec off the copy so that the heads have something to rehearse
    rng = numpy.random.default_rng(0)
    for node in nlp.get_pipe("tok2vec").model.walk():
        for param in node.param_names:
            if node.has_param(param):
                value = node.get_param(param)
                node.set_param(param, value + rng.normal(0, 0.05, value.shape).astype("f"))
    heads = {name: nlp.get_pipe(name).model.to_bytes() for name in ("tagger", "parser")}
    tok2vec = nlp.get_pipe("tok2vec").model.to_bytes()
    losses = nlp.rehearse(raw_examples(nlp), sgd=optimizer, frozen=["tagger", "parser"])
    assert losses["tagger"] > 1e-3 and losses["parser"] > 1e-3
    for name, before in heads.items():
        model = nlp.get_pipe(name).model
        assert model.to_bytes() == before
        for node in model.walk():
            for param in node.param_names:
                if node.has_grad(param):
                    assert not numpy.abs(node.get_grad(param)).any(), (name, node.name)
    assert nlp.get_pipe("tok2vec").model.to_bytes() != tok2vec


def test_the_teacher_cache_serves_docs_met_again_with_the_same_outputs(teacher):
    """A doc met again (in another batch, another order) takes the teacher's embedding
    from the cache; the teacher docs and the student's distillation losses are those of
    an uncached run."""
    cache = TeacherCache(64)
    plain = teacher_examples(teacher, raw_examples(teacher))
    teacher_examples(teacher, raw_examples(teacher, RAW[:3]), cache)
    assert (len(cache), cache.hits, cache.misses) == (3, 0, 3)
    served = teacher_examples(teacher, raw_examples(teacher, RAW[::-1]), cache)
    assert (len(cache), cache.hits, cache.misses) == (len(RAW), 3, len(RAW))
    assert 0 < cache.nbytes <= cache.max_bytes
    for a, b in zip(plain, served[::-1]):
        numpy.testing.assert_allclose(a.reference.tensor, b.reference.tensor, rtol=1e-4,
                                   atol=1e-5)  # batch composition changes the rounding

    def losses_of(with_cache):
        student = fresh_student(teacher)
        return student.distill(teacher, raw_examples(student), sgd=False,
                               teacher_cache=cache if with_cache else None)

    cached = losses_of(True)
    assert cache.hits == 3 + len(RAW)
    assert cached == pytest.approx(losses_of(False), rel=1e-5)


def test_a_full_teacher_cache_keeps_nothing_more(teacher):
    cache = TeacherCache(1e-6)  # one byte: no doc fits
    for _ in range(2):
        teacher_examples(teacher, raw_examples(teacher), cache)
    assert (len(cache), cache.nbytes, cache.hits, cache.misses) == (0, 0, 0, 2 * len(RAW))
