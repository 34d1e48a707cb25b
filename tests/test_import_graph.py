"""The import graph of `nlp_core`, `beam_jobs` and `schemas` has no cycles, and every import
left inside a function says why it is there.

The graph is built from the source, not by importing it: every `.py` file is parsed with
`ast` and each `import` / `from ... import` statement anywhere in it (module level, inside
functions and classes, inside `try`) is an edge. How a statement becomes edges:

- Relative imports are resolved against the importing module (`from ..vocab import Vocab`
  in `nlp_core.tokens.doc` is `nlp_core.vocab`).
- `from pkg import name` is an edge to `pkg.name` when that is a module of the tree, else to
  `pkg` (the package, i.e. its `__init__.py`). So `from nlp_core.tokens import Doc` points
  at `nlp_core.tokens`, whose `__init__` imports `nlp_core.tokens.doc`: a package's
  re-exports count as what they are, imports run by its `__init__`.
- Importing `a.b.c` first runs `a/__init__.py` and `a/b/__init__.py`, so it is also an edge
  to `a` and `a.b` - except to the packages that contain the importing module itself, which
  Python has already started importing by then (a sibling import inside a package does not
  re-run the package's `__init__`).
- Imports under `if TYPE_CHECKING:` never run and are no edges.
- Only modules of the three packages are nodes; the standard library and third-party
  packages are not. Dynamic imports (`importlib.import_module(name)`, as in
  `nlp_core/__init__.py`'s lazy attributes and `nlp_core.registry.ensure_builtins_registered`
  which loads the built-in packages by name) are not statements and are not edges.

A cycle is a strongly connected component of more than one module (or a module importing
itself). The one allowed kind lies wholly inside `nlp_core/tokens/`: `Doc`, `Span` and
`Token` are views of one another.
"""
import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nlp_core", "beam_jobs", "schemas")
ALLOWED_CYCLE_PREFIX = "nlp_core.tokens"


def _module_files() -> Dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterator[Tuple[ast.stmt, int]]:
    """Every import statement that can run, with its function depth (0: module level)."""

    def visit(node: ast.AST, depth: int) -> Iterator[Tuple[ast.stmt, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for orelse in child.orelse:
                    yield from visit(orelse, depth)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, depth
            inner = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from visit(child, depth + inner)

    yield from visit(tree, 0)


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, path: Path, node: ast.stmt, modules: Set[str]) -> List[str]:
    """The tree modules one import statement names (before adding parent packages)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _resolve_from(module, path.name == "__init__.py", node)
    found = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        found.append(sub if sub in modules else base)
    return found


def _with_parents(target: str, importer: str, modules: Set[str]) -> List[str]:
    """`target` and the packages Python imports before it, less the importer's own."""
    parts = target.split(".")
    own = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 2)}
    chain = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [name for name in chain if name in modules and (name == target or name not in own)]


def build_graph() -> Tuple[Dict[str, Set[str]], List[Tuple[str, int, str, int]]]:
    """The import graph, and every import inside a function as (module, line, source,
    depth)."""
    files = _module_files()
    modules = set(files)
    graph: Dict[str, Set[str]] = {name: set() for name in modules}
    inner: List[Tuple[str, int, str, int]] = []
    for module, path in files.items():
        source = path.read_text(encoding="utf8")
        for node, depth in _import_nodes(ast.parse(source, filename=str(path))):
            for target in _targets(module, path, node, modules):
                graph[module].update(t for t in _with_parents(target, module, modules)
                                     if t != module)
            if depth:
                inner.append((module, node.lineno, ast.get_source_segment(source, node), depth))
    return graph, inner


def strongly_connected(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Tarjan's algorithm (iterative); components of one module only if it imports itself."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        components.append(sorted(component))
    return components


def _inside_tokens(name: str) -> bool:
    return name == ALLOWED_CYCLE_PREFIX or name.startswith(ALLOWED_CYCLE_PREFIX + ".")


def _describe(component: List[str], graph: Dict[str, Set[str]]) -> str:
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in members]
    return "cycle of " + ", ".join(component) + ":\n    " + "\n    ".join(edges)


def test_graph_sees_known_edges():
    graph, _ = build_graph()
    # relative `from ..x import y` with y a name, and with y a submodule
    assert "nlp_core.errors" in graph["nlp_core.registry"]
    assert "nlp_core.tokens.doc" in graph["nlp_core.tokens"]
    # importing a submodule also runs its package's __init__
    assert "nlp_core.training" in graph["nlp_core.pipeline.trainable"]
    assert "nlp_core.training.example" in graph["nlp_core.pipeline.trainable"]


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert strongly_connected(graph) == [["a", "b", "c"], ["e"]]


def test_no_import_cycles_outside_tokens():
    graph, _ = build_graph()
    cycles = [c for c in strongly_connected(graph) if not all(map(_inside_tokens, c))]
    assert not cycles, "import cycles:\n" + "\n".join(_describe(c, graph) for c in cycles)


def _has_reason(lines: List[str], lineno: int) -> bool:
    """A comment on the import's first line or on the line just above it (a comment line,
    or the `try:` line of `try: import x except ImportError`)."""
    return "#" in lines[lineno - 1] or "#" in lines[lineno - 2]


def test_imports_inside_functions_say_why():
    """An import inside a function is there only to keep a heavy optional dependency (torch,
    transformers, cupy, apache_beam, ...) lazy, or - inside nlp_core/tokens/ only - to let
    Doc, Span and Token refer to one another; each carries a comment saying why."""
    _, inner = build_graph()
    files = _module_files()
    unexplained = []
    for module, lineno, source, _ in inner:
        lines = files[module].read_text(encoding="utf8").splitlines()
        if not _has_reason(lines, lineno):
            unexplained.append(f"{files[module].relative_to(ROOT)}:{lineno}: "
                               f"{source.splitlines()[0]}")
    assert not unexplained, ("imports inside functions without a comment saying why "
                             "(move them to module level, or say which heavy optional "
                             "dependency they keep lazy):\n  " + "\n  ".join(unexplained))


# The layers of nlp_core as ARCHITECTURE.md lists them, top first: a module imports only
# modules of its own layer or of layers below it. The longest matching prefix decides a
# module's layer (training.loop sits above the pipeline object, the rest of training below
# the components).
LAYERS = [
    ["nlp_core.cli", "nlp_core.__main__"],
    ["nlp_core.loading", "nlp_core.pipeline_packages"],
    ["nlp_core.training.loop", "nlp_core.training.pretrain", "nlp_core.training.distill",
     "nlp_core.training.resume"],
    ["nlp_core.language", "nlp_core.language_run", "nlp_core.pipe_workers",
     "nlp_core.language_training", "nlp_core.language_config", "nlp_core.language_disk",
     "nlp_core.nlp_makers", "nlp_core.language_init_tok2vec", "nlp_core.language_distill"],
    ["nlp_core.pipeline"],
    ["nlp_core.training"],
    ["nlp_core.ml", "nlp_core.parser_internals"],
    ["nlp_core.tokenizer", "nlp_core.formats", "nlp_core.tensors_io",
     "nlp_core.vectors_reading", "nlp_core.vectors_pruning", "nlp_core.vectors_building"],
    ["nlp_core.tokens"],
    ["nlp_core.display", "nlp_core.display_data", "nlp_core.display_dep",
     "nlp_core.display_ent", "nlp_core.display_html", "nlp_core.display_page",
     "nlp_core.display_style", "nlp_core.display_table", "nlp_core.display_where"],
    ["nlp_core.vocab", "nlp_core.strings", "nlp_core.symbols", "nlp_core.attrs",
     "nlp_core.lang", "nlp_core.vectors", "nlp_core.vectors_disk", "nlp_core.vectors_floret",
     "nlp_core.vectors_similarity"],
    ["nlp_core.registry", "nlp_core.config", "nlp_core.errors", "nlp_core.user_code",
     "nlp_core.pipeline_files", "nlp_core.malloc"],
]


def _layer(module: str):
    best = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and \
                    (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return None if best is None else best[0]


def test_nlp_core_layers_import_downward():
    graph, _ = build_graph()
    nlp_core_modules = [m for m in graph if m.startswith("nlp_core.")]
    assert not [m for m in nlp_core_modules if _layer(m) is None], \
        "a module of nlp_core is in no layer: add it to LAYERS and to ARCHITECTURE.md"
    upward = sorted((a, b) for a in nlp_core_modules for b in graph[a]
                    if _layer(b) is not None and b != "nlp_core.training"
                    and _layer(b) < _layer(a))
    # (`nlp_core.training` itself is the package whose __init__ holds the lower layer's
    # names; importing it from below is importing those)
    assert not upward, "imports against the layers of ARCHITECTURE.md:\n" + "\n".join(
        f"  {a} -> {b}" for a, b in upward)
