"""TransitionBasedParser.v3: shapes and initialisation, gradients of the transition loss,
the C greedy forward against the numpy reference (EWT dev), beam width 1 against greedy,
resizing, seen-class masks and serialisation."""
import numpy
import pytest
from shared_data import shared_path
from thinc.api import Model, Ops

from nlp_core.formats.conllu import read_conllu_sentences
from nlp_core.ml import parser_step
from nlp_core.ml.parser_model import (
    TransitionBasedParser,
    resize_output,
    seen_mask,
    set_seen_classes,
)
from nlp_core.ml.parser_weights import precompute_into
from nlp_core.parser_internals import ArcEager, BeamBatch, BiluoNER, GreedyBatch
from nlp_core.registry import registry
from nlp_core.tokens.doc import Doc

LABELS = ["nsubj", "dobj", "amod", "det", "punct"]


pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _tok2vec(width=16):
    return registry.resolve({"m": {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": width,
                  "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "rows": [50, 20, 20, 20],
                  "include_static_vectors": False},
        "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": width,
                   "depth": 1, "window_size": 1, "maxout_pieces": 2}}})["m"]


def _model(system, state_type="parser", *, use_upper=True, extra=False, hidden=8, pieces=2):
    return TransitionBasedParser(_tok2vec(), state_type, extra_state_tokens=extra,
                                 hidden_width=hidden, maxout_pieces=pieces,
                                 use_upper=use_upper, nO=system.n_moves)


def _randomize(model: Model, seed=0, scale=0.5):
    rng = numpy.random.default_rng(seed)
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                value = node.get_param(name)
                node.set_param(name, rng.normal(0, scale, value.shape).astype("float32"))


def _trees():
    """Three small gold trees (heads absolute, labels)."""
    return [(["I", "like", "green", "eggs", "."], [1, 1, 3, 1, 1],
             ["nsubj", "ROOT", "amod", "dobj", "punct"]),
            (["Eat", "the", "ham"], [0, 2, 0], ["ROOT", "det", "dobj"]),
            (["They", "eat"], [1, 1], ["nsubj", "ROOT"])]


@pytest.fixture
def parsed(vocab):
    system = ArcEager(LABELS)
    trees = _trees()
    docs = [Doc(vocab, words=words) for words, _, _ in trees]
    golds = [system.gold(heads, labels) for _, heads, labels in trees]
    return system, docs, golds


def test_registered_under_both_names():
    assert registry.architectures.get("spacy.TransitionBasedParser.v3") is \
        registry.architectures.get("nlp_core.TransitionBasedParser.v3")


@pytest.mark.parametrize("state_type,extra,nF", [("parser", False, 8), ("parser", True, 13),
                                                 ("ner", False, 3), ("ner", True, 6)])
@pytest.mark.parametrize("use_upper", [True, False])
def test_shapes_after_initialize(vocab, state_type, extra, nF, use_upper):
    system = ArcEager(LABELS) if state_type == "parser" else BiluoNER(["PER", "LOC"])
    model = _model(system, state_type, use_upper=use_upper, extra=extra, hidden=8, pieces=3)
    model.initialize(X=[Doc(vocab, words=["a", "b", "c"])])
    hidden = model.get_ref("hidden")
    nH = 8 if use_upper else system.n_moves
    assert model.get_dim("nF") == nF and model.get_dim("nO") == system.n_moves
    assert hidden.get_param("W").shape == (nF, nH, 3, 8)
    assert hidden.get_param("b").shape == (nH, 3)
    assert hidden.get_param("pad").shape == (nF, nH, 3)
    if use_upper:
        output = model.get_ref("output")
        assert output.get_param("W").shape == (system.n_moves, 8)
        assert not output.get_param("W").any()  # zero-initialised, as spaCy's upper layer
    F = hidden.predict(numpy.ones((4, 8), dtype="float32"))
    assert F.shape == (5, nF, nH, 3)
    assert numpy.array_equal(F[4], hidden.get_param("pad"))


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="E370"):
        TransitionBasedParser(_tok2vec(), "tagger")
    with pytest.raises(ValueError, match="E371"):
        TransitionBasedParser(_tok2vec(), "parser", hidden_width=0)


def _trace_loss(model, docs, system, golds, seen=None):
    trace, backprop = model.begin_update((docs, GreedyBatch(system, [len(d) for d in docs]),
                                          golds))
    loss, d_scores = parser_step.transition_loss(trace, seen)
    return trace, loss, d_scores, backprop


@pytest.mark.parametrize("use_upper", [True, False])
def test_gradients_match_finite_differences(parsed, use_upper):
    """The backprop of the summed transition loss (moves taken held fixed) agrees with
    central differences on the hidden, padding, output and projection weights."""
    system, docs, golds = parsed
    model = _model(system, use_upper=use_upper, hidden=6, pieces=2)
    model.initialize(X=docs)
    _randomize(model, scale=0.3)
    targets = [(model.get_ref("hidden"), "W"), (model.get_ref("hidden"), "b"),
               (model.get_ref("hidden"), "pad"),
               (model.get_ref("projection").layers[-1], "W")]
    if use_upper:
        targets += [(model.get_ref("output"), "W"), (model.get_ref("output"), "b")]
    for node, name in targets:
        node.set_grad(name, numpy.zeros_like(node.get_param(name)))
    trace, loss, d_scores, backprop = _trace_loss(model, docs, system, golds)
    history = [trace.batch.history(i).tolist() for i in range(3)]
    backprop([numpy.asarray(d) for d in d_scores])
    rng = numpy.random.default_rng(0)
    eps, checked, bad = 1e-2, 0, []
    for node, name in targets:
        param = node.get_param(name).reshape(-1)
        grad = node.get_grad(name).reshape(-1)
        for index in rng.choice(len(param), size=min(6, len(param)), replace=False):
            original = param[index]
            values = []
            for delta in (eps, -eps):
                param[index] = original + delta
                t, value, _, _ = _trace_loss(model, docs, system, golds)
                same = [t.batch.history(i).tolist() for i in range(3)] == history
                values.append(value if same else None)
            param[index] = original
            if None in values:
                continue  # the moves changed: no derivative along the taken path
            up, down = (values[0] - loss) / eps, (loss - values[1]) / eps
            if abs(up - down) > 2e-2 + 5e-2 * max(abs(up), abs(down)):
                continue  # a maxout piece switched within eps
            numeric = (values[0] - values[1]) / (2 * eps)
            checked += 1
            if abs(numeric - grad[index]) > 2e-2 + 5e-2 * abs(numeric):
                bad.append(f"{node.name}.{name}[{index}]: {grad[index]:.5f} vs {numeric:.5f}")
    assert checked >= 20
    assert len(bad) <= 1, bad


def test_transition_loss_is_cross_entropy_over_zero_cost_moves():
    scores = [numpy.asarray([[1.0, 2.0, 0.5, 3.0]], dtype="float32")]
    costs = [numpy.asarray([[0.0, 1.0, 0.0, numpy.inf]], dtype="float32")]
    trace = parser_step.ParserTrace(None, scores, costs)
    loss, (d,) = parser_step.transition_loss(trace, None)
    valid = numpy.exp(numpy.asarray([1.0, 2.0, 0.5]))
    probs = valid / valid.sum()
    assert loss == pytest.approx(-numpy.log(probs[0] + probs[2]), rel=1e-5)
    expected = probs - numpy.asarray([probs[0], 0, probs[2]]) / (probs[0] + probs[2])
    assert numpy.allclose(d[0, :3], expected, atol=1e-6) and d[0, 3] == 0.0
    # an unseen class leaves the softmax and gets no gradient
    loss2, (d2,) = parser_step.transition_loss(trace, numpy.asarray([True, False, True, True]))
    assert d2[0, 1] == 0.0 and loss2 < loss


def _ewt_docs(vocab, n):
    path = shared_path("ud_english_ewt", "en_ewt-ud-dev.conllu")
    docs = []
    for sent in read_conllu_sentences(path):
        docs.append(Doc(vocab, words=sent.words))
        if len(docs) == n:
            break
    return docs


@pytest.mark.parametrize("state_type,use_upper,seen", [("parser", True, False),
                                                       ("parser", False, True),
                                                       ("ner", True, True)])
def test_c_forward_makes_the_same_moves_as_the_numpy_forward(vocab, state_type, use_upper,
                                                             seen):
    """300 EWT dev sentences, random weights: identical move sequences for every doc."""
    if state_type == "parser":
        system = ArcEager(["nsubj", "obj", "det", "amod", "punct", "case", "obl", "advmod"])
    else:
        system = BiluoNER(["PER", "ORG", "LOC"])
    docs = _ewt_docs(vocab, 300)
    model = _model(system, state_type, use_upper=use_upper, hidden=16, pieces=2)
    model.initialize(X=docs[:5])
    _randomize(model, seed=3)
    if seen:
        mask = numpy.ones(system.n_moves, dtype=bool)
        mask[3::3] = False  # labelled moves (and NER B-/L- moves); S, D and O stay seen
        set_seen_classes(model, mask)
    lengths = [len(doc) for doc in docs]
    in_c, in_numpy = GreedyBatch(system, lengths), GreedyBatch(system, lengths)
    parser_step.parse(model, docs, [in_c], use_c=True)
    parser_step.parse(model, docs, [in_numpy], use_c=False)
    assert in_c.is_final() and in_numpy.is_final()
    n_moves = 0
    for i in range(len(docs)):
        assert in_c.history(i).tolist() == in_numpy.history(i).tolist(), f"doc {i}"
        n_moves += len(in_c.history(i))
    assert n_moves >= sum(lengths)  # one move per token at least (NER: exactly one)
    if seen:  # an unseen class is taken only where no seen class is valid
        replay = GreedyBatch(system, lengths[:30])
        histories = [in_c.history(i).tolist() for i in range(30)]
        step = 0
        while not replay.is_final():
            valid = replay.valid_mask()
            moves = [histories[i][step] for i in replay.active.tolist()]
            for row, move in enumerate(moves):
                assert mask[move] or not (valid[row] & mask).any()
            replay.transition(moves)
            step += 1


def test_beam_width_one_equals_greedy(vocab):
    system = ArcEager(LABELS)
    docs = _ewt_docs(vocab, 40)
    model = _model(system, hidden=16)
    model.initialize(X=docs[:5])
    _randomize(model, seed=5)
    lengths = [len(doc) for doc in docs]
    greedy, beam = GreedyBatch(system, lengths), BeamBatch(system, lengths, beam_width=1)
    model.predict((docs, [greedy]))
    model.predict((docs, [beam]))
    for d in range(len(docs)):
        assert beam.history(d).tolist() == greedy.history(d).tolist()
    wide = BeamBatch(system, lengths, beam_width=4)
    model.predict((docs, [wide]))
    for d in range(len(docs)):
        heads, labels = wide.parse(d)
        assert (heads >= 0).all() and wide.is_state_final(d)


def test_chunks_parse_like_one_batch(parsed):
    system, docs, _ = parsed
    model = _model(system)
    model.initialize(X=docs)
    _randomize(model, seed=2)
    lengths = [len(doc) for doc in docs]
    whole = GreedyBatch(system, lengths)
    parts = [GreedyBatch(system, lengths[:1]), GreedyBatch(system, lengths[1:])]
    model.predict((docs, [whole]))
    model.predict((docs, parts))
    assert whole.history(0).tolist() == parts[0].history(0).tolist()
    assert whole.history(2).tolist() == parts[1].history(1).tolist()


@pytest.mark.parametrize("use_c", [True, False])
def test_chunks_of_uneven_sizes_share_one_feature_buffer(vocab, use_c):
    """parse() writes each chunk's features into one buffer sized for the largest chunk:
    chunks smaller and larger than the ones before them, and an already-final chunk in
    between (skipped), make the same moves as one batch of all the docs."""
    system = ArcEager(["nsubj", "obj", "det", "amod", "punct", "case", "obl", "advmod"])
    docs = _ewt_docs(vocab, 60)
    model = _model(system, hidden=16, pieces=2)
    model.initialize(X=docs[:5])
    _randomize(model, seed=4)
    lengths = [len(doc) for doc in docs]
    whole = GreedyBatch(system, lengths)
    parser_step.parse(model, docs, [whole], use_c=use_c)
    cuts = [0, 3, 40, 41, 45, 60]  # 3, 37, 1, 4 and 15 docs
    parts = [GreedyBatch(system, lengths[a:b]) for a, b in zip(cuts, cuts[1:])]
    parser_step.parse(model, docs[40:41], [parts[2]], use_c=use_c)  # final beforehand
    parser_step.parse(model, docs, parts, use_c=use_c)
    for part, start in zip(parts, cuts):
        assert part.is_final()
        for d in range(part.n_docs):
            assert part.history(d).tolist() == whole.history(start + d).tolist(), start + d


def test_features_written_into_a_buffer_equal_precompute(parsed):
    system, docs, _ = parsed
    model = _model(system)
    model.initialize(X=docs)
    _randomize(model, seed=5)
    hidden = model.get_ref("hidden")
    X = model.get_ref("projection").predict(docs)
    expected = hidden.predict(X)
    buffer = numpy.full((X.shape[0] + 7, expected[0].size), numpy.nan, dtype="float32")
    F = precompute_into(hidden, X, buffer)
    assert F.shape == expected.shape and numpy.shares_memory(F, buffer)
    numpy.testing.assert_array_equal(F, expected)
    assert numpy.isnan(buffer[X.shape[0] + 1:]).all()  # the rows past the chunk: untouched


@pytest.mark.parametrize("use_upper", [True, False])
def test_resize_keeps_the_old_weights(parsed, use_upper):
    system, docs, golds = parsed
    model = _model(system, use_upper=use_upper)
    model.initialize(X=docs)
    _randomize(model)
    set_seen_classes(model, numpy.arange(system.n_moves) % 2 == 0)
    name = "output" if use_upper else "hidden"
    old = {k: model.get_ref(name).get_param(k).copy()
           for k in model.get_ref(name).param_names}
    n = system.n_moves
    system.add_label("xcomp")
    resize_output(model, system.n_moves)
    new = model.get_ref(name)
    assert model.get_dim("nO") == system.n_moves == n + 2
    for key, value in old.items():
        got = new.get_param(key)
        if key == "b" and not use_upper:
            assert numpy.array_equal(got[:n], value) and not got[n:].any()
        elif use_upper:
            assert numpy.array_equal(got[:n], value) and not got[n:].any()
        else:
            assert numpy.array_equal(got[:, :n], value) and not got[:, n:].any()
    mask = seen_mask(model)
    assert mask.shape == (n + 2,) and mask[n:].all() and not mask[1]
    # the resized model still trains and parses
    golds = [system.gold(g_heads, g_labels) for _, g_heads, g_labels in _trees()]
    trace, loss, d_scores, backprop = _trace_loss(model, docs, system, golds, mask)
    backprop([numpy.asarray(d) for d in d_scores])
    with pytest.raises(ValueError, match="E375"):
        resize_output(model, 3)


def test_model_must_match_the_moves(parsed):
    system, docs, _ = parsed
    model = _model(system)
    model.initialize(X=docs)
    system.add_label("xcomp")
    with pytest.raises(ValueError, match="E373"):
        model.predict((docs, [GreedyBatch(system, [len(d) for d in docs])]))


def test_serialisation_keeps_weights_and_seen_mask(parsed):
    system, docs, _ = parsed
    model = _model(system)
    model.initialize(X=docs)
    _randomize(model)
    set_seen_classes(model, numpy.arange(system.n_moves) % 3 != 1)
    data = model.to_bytes()
    other = TransitionBasedParser(_tok2vec(), "parser", hidden_width=8, maxout_pieces=2)
    other.from_bytes(data)
    assert numpy.array_equal(seen_mask(other), seen_mask(model))
    lengths = [len(d) for d in docs]
    a, b = GreedyBatch(system, lengths), GreedyBatch(system, lengths)
    model.predict((docs, [a]))
    other.predict((docs, [b]))
    assert [a.history(i).tolist() for i in range(3)] == [b.history(i).tolist() for i in range(3)]


def _ewt_parsed(vocab, system, n_docs, sents_per_doc=5):
    """EWT dev sentences grouped into docs, with projectivized golds."""
    from nlp_core.parser_internals.nonproj import projectivize

    path = shared_path("ud_english_ewt", "en_ewt-ud-dev.conllu")
    sents = read_conllu_sentences(path)
    docs, golds = [], []
    for _ in range(n_docs):
        words, heads, labels = [], [], []
        for sent in [next(sents) for _ in range(sents_per_doc)]:
            start = len(words)
            words += sent.words
            heads += [start + h for h in sent.heads]
            labels += sent.deps
        heads, labels = projectivize(numpy.asarray(heads, dtype=numpy.int32), labels)
        docs.append(Doc(vocab, words=words))
        golds.append(system.gold(heads, labels))
    return docs, golds


def _train_grads(model, system, docs, golds, cut):
    """One training forward + backprop from zeroed gradients: (trace, loss, gradients)."""
    batch = GreedyBatch(system, [len(doc) for doc in docs])
    if cut:
        batch = batch.oracle_cuts(golds, cut)
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                node.set_grad(name, numpy.zeros_like(node.get_param(name)))
    trace, backprop = model.begin_update((docs, batch, golds))
    loss, d_scores = parser_step.transition_loss(trace, seen_mask(model),
                                                 to_numpy=model.ops.to_numpy)
    backprop(d_scores)
    grads = [numpy.asarray(node.get_grad(name)).copy() for node in model.walk()
             for name in node.param_names if node.has_grad(name)]
    return trace, loss, grads


@pytest.mark.parametrize("use_upper,seen,cut", [(True, True, 0), (True, False, 7),
                                                (False, True, 7)])
def test_c_training_forward_equals_the_numpy_loop(vocab, use_upper, seen, cut):
    """The C training loop (native.parser.train_forward) records the same states, scores,
    costs and moves as the numpy loop, bit for bit, and the backprop gives the same
    gradients; whole docs and oracle-cut pieces (all pieces stepped together)."""
    system = ArcEager(["nsubj", "obj", "det", "amod", "punct", "case", "obl", "advmod"])
    docs, golds = _ewt_parsed(vocab, system, 12)
    model = _model(system, use_upper=use_upper, hidden=16, pieces=3)
    model.initialize(X=docs[:5])
    _randomize(model, seed=7, scale=0.3)
    if seen:
        mask = numpy.ones(system.n_moves, dtype=bool)
        mask[3::4] = False
        set_seen_classes(model, mask)
    runs = []
    for use_c in (True, False):
        model.attrs["c_forward"] = use_c
        runs.append(_train_grads(model, system, docs, golds, cut))
    (c, c_loss, c_grads), (py, py_loss, py_grads) = runs
    assert c.sizes == py.sizes and c.n_steps > 1
    if cut:  # the pieces run in parallel: no more steps than the longest piece allows
        assert c.n_steps <= cut
    assert numpy.array_equal(c.all_scores(), py.all_scores())
    assert numpy.array_equal(c.all_costs(), py.all_costs())
    assert [c.batch.history(i).tolist() for i in range(c.batch.n_states)] == \
        [py.batch.history(i).tolist() for i in range(py.batch.n_states)]
    assert c_loss == py_loss and len(c_grads) == len(py_grads) >= 5
    for a, b in zip(c_grads, py_grads):
        assert numpy.array_equal(a, b)


def test_c_feature_scatter_equals_numpy():
    from native.parser.train_forward import scatter_features

    rng = numpy.random.default_rng(0)
    n_rows, nF, width = 9, 3, 5
    ctx = rng.integers(-1, n_rows - 1, size=(40, nF)).astype(numpy.int32)
    d_pre = rng.normal(size=(40, width)).astype(numpy.float32)
    got = scatter_features(numpy.zeros((n_rows * nF, width), dtype=numpy.float32), ctx,
                           d_pre, n_rows, nF)
    want = numpy.zeros((n_rows * nF, width), dtype=numpy.float32)
    rows = numpy.where(ctx < 0, n_rows - 1, ctx) * nF + numpy.arange(nF)
    numpy.add.at(want, rows.reshape(-1), numpy.repeat(d_pre, nF, axis=0))
    assert numpy.array_equal(got, want)


class _DeviceLikeOps(Ops):
    """thinc's generic Ops: numpy arrays, but not NumpyOps, so the parser takes the path it
    takes on GPU (host copies for the C loops, the backprop through the ops)."""

    name = "device_like"


@pytest.mark.parametrize("cut", [0, 7])
def test_c_loops_on_non_numpy_ops_match_numpy_ops(vocab, cut):
    """With ops that are not NumpyOps (as on GPU) the C loops run on host copies of the
    features and weights: the same moves, scores and costs as under NumpyOps, the same
    gradients up to float summation order (the feature scatter goes through the ops)."""
    system = ArcEager(["nsubj", "obj", "det", "amod", "punct", "case", "obl", "advmod"])
    docs, golds = _ewt_parsed(vocab, system, 12)
    model = _model(system, use_upper=True, hidden=16, pieces=3)
    model.initialize(X=docs[:5])
    _randomize(model, seed=11, scale=0.3)
    numpy_run = _train_grads(model, system, docs, golds, cut)
    lengths = [len(doc) for doc in docs]
    numpy_parse = GreedyBatch(system, lengths)
    parser_step.parse(model, docs, [numpy_parse])
    device_like = _DeviceLikeOps()
    for node in (model, model.get_ref("hidden"), model.get_ref("output")):
        node.ops = device_like  # the parser's own layers (the tok2vec's paths are its own)
    assert parser_step._use_c_train(model, golds)
    device_run = _train_grads(model, system, docs, golds, cut)
    device_parse = GreedyBatch(system, lengths)
    parser_step.parse(model, docs, [device_parse])
    (c, c_loss, c_grads), (d, d_loss, d_grads) = numpy_run, device_run
    assert c.sizes == d.sizes and c.n_steps > 1
    assert numpy.array_equal(c.all_scores(), d.all_scores(device_like.to_numpy))
    assert numpy.array_equal(c.all_costs(), d.all_costs())
    assert c_loss == d_loss and len(c_grads) == len(d_grads) >= 5
    for a, b in zip(c_grads, d_grads):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    assert [numpy_parse.history(i).tolist() for i in range(len(docs))] == \
        [device_parse.history(i).tolist() for i in range(len(docs))]
