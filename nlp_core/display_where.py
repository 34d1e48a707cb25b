"""`display --where`: a small SQL-like filter on the annotations table, parsed here and
evaluated with Arrow compute kernels. User text is never executed: it is parsed by the
grammar below into a tree of known operations, each mapped to one `pyarrow.compute` call.

    expr      := or
    or        := and ("OR" and)*
    and       := not ("AND" not)*
    not       := "NOT" not | predicate
    predicate := value [ ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") value
                        | "IS" ["NOT"] "NULL"
                        | ["NOT"] "IN" "(" literal ("," literal)* ")"
                        | ["NOT"] ("LIKE" | "ILIKE") string
                        | ["NOT"] "BETWEEN" value "AND" value ]
    value     := number | 'string' | TRUE | FALSE | NULL | column | function "(" args ")"
                 | "(" expr ")"
    column    := name ["." field]        e.g. doc_id, pipeline.name, ents.label

Functions: `length(x)` (characters of a string, entries of a list), `lower(x)`, `upper(x)`,
`list_contains(list, literal)` (e.g. `list_contains(ents.label, 'ORG')`,
`list_contains(dep, 'nsubj')`), `contains(x, 'sub')` and `regexp_matches(x, 'pattern')`
(RE2 syntax: linear time, no backtracking). Comparisons with NULL are unknown and unknown
rows are not selected, as in SQL.
"""
import re
from typing import Any, List, Set, Tuple

import pyarrow as pa
import pyarrow.compute as pc

from .errors import Errors

_TOKEN = re.compile(r"""\s*(?:
    (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op><=|>=|<>|!=|=|<|>|\(|\)|,|\.)
)""", re.VERBOSE)
KEYWORDS = {"AND", "OR", "NOT", "IS", "NULL", "IN", "LIKE", "ILIKE", "BETWEEN", "TRUE",
            "FALSE"}
COMPARISONS = {"=": "equal", "!=": "not_equal", "<>": "not_equal", "<": "less",
               "<=": "less_equal", ">": "greater", ">=": "greater_equal"}
FUNCTIONS = {"length": 1, "lower": 1, "upper": 1, "list_contains": 2, "contains": 2,
             "regexp_matches": 2}
MAX_LENGTH = 2000
MAX_DEPTH = 50


class Filter:
    """A parsed --where expression: `columns` to read, `mask(batch)` to select rows."""

    def __init__(self, text: str, schema: pa.Schema):
        if len(text) > MAX_LENGTH:
            raise ValueError(Errors.E589.format(where=text[:60] + "...", pos=MAX_LENGTH,
                                                reason=f"longer than {MAX_LENGTH} characters"))
        self.text = text
        self._schema = schema
        self._tokens = _tokenize(text)
        self._i = 0
        self._depth = 0
        self.columns: Set[str] = set()
        self.tree = self._expr()
        if self._peek()[0] != "end":
            self._fail("unexpected " + repr(self._peek()[1]))

    # -- parsing ----------------------------------------------------------------------
    def _peek(self) -> Tuple[str, Any, int]:
        return self._tokens[self._i]

    def _next(self) -> Tuple[str, Any, int]:
        token = self._tokens[self._i]
        self._i += 1
        return token

    def _fail(self, reason: str):
        raise ValueError(Errors.E589.format(where=self.text, reason=reason,
                                            pos=self._peek()[2]))

    def _keyword(self, *words: str) -> bool:
        kind, value, _ = self._peek()
        if kind == "keyword" and value in words:
            self._i += 1
            return True
        return False

    def _expect(self, op: str) -> None:
        kind, value, _ = self._next()
        if kind != "op" or value != op:
            self._i -= 1
            self._fail(f"expected {op!r}")

    def _expr(self):
        self._depth += 1
        if self._depth > MAX_DEPTH:
            self._fail(f"nested deeper than {MAX_DEPTH} levels")
        node = self._and()
        while self._keyword("OR"):
            node = ("or", node, self._and())
        self._depth -= 1
        return node

    def _and(self):
        node = self._not()
        while self._keyword("AND"):
            node = ("and", node, self._not())
        return node

    def _not(self):
        if self._keyword("NOT"):
            return ("not", self._not())
        return self._predicate()

    def _predicate(self):
        left = self._value()
        kind, value, _ = self._peek()
        if kind == "op" and value in COMPARISONS:
            self._next()
            return ("cmp", COMPARISONS[value], left, self._value())
        if self._keyword("IS"):
            negate = self._keyword("NOT")
            if not self._keyword("NULL"):
                self._fail("expected NULL after IS")
            return ("isnull", left, negate)
        negate = self._keyword("NOT")
        if self._keyword("IN"):
            self._expect("(")
            values = [self._literal()]
            while self._peek()[:2] == ("op", ","):
                self._next()
                values.append(self._literal())
            self._expect(")")
            return ("in", left, values, negate)
        for word in ("LIKE", "ILIKE"):
            if self._keyword(word):
                pattern = self._literal()
                if not isinstance(pattern, str):
                    self._fail(f"{word} needs a 'string' pattern")
                return ("like", left, pattern, negate, word == "ILIKE")
        if self._keyword("BETWEEN"):
            low = self._value()
            if not self._keyword("AND"):
                self._fail("expected AND in BETWEEN")
            return ("between", left, low, self._value(), negate)
        if negate:
            self._fail("expected IN, LIKE, ILIKE or BETWEEN after NOT")
        return left

    def _literal(self):
        kind, value, _ = self._next()
        if kind in ("number", "string"):
            return value
        if kind == "keyword" and value in ("TRUE", "FALSE", "NULL"):
            return {"TRUE": True, "FALSE": False, "NULL": None}[value]
        self._i -= 1
        self._fail("expected a number, a 'string', TRUE, FALSE or NULL")

    def _value(self):
        kind, value, _ = self._peek()
        if kind == "op" and value == "(":
            self._next()
            node = self._expr()
            self._expect(")")
            return node
        if kind in ("number", "string") or (kind == "keyword" and value in
                                            ("TRUE", "FALSE", "NULL")):
            return ("lit", self._literal())
        if kind != "name":
            self._fail("expected a column, a function or a value")
        self._next()
        if self._peek()[:2] == ("op", "("):
            return self._call(value)
        return self._column(value)

    def _call(self, name: str):
        if name.lower() not in FUNCTIONS:
            raise ValueError(Errors.E590.format(what="function", name=name,
                                                known=", ".join(sorted(FUNCTIONS))))
        self._expect("(")
        args = [self._expr()]
        while self._peek()[:2] == ("op", ","):
            self._next()
            args.append(self._expr())
        self._expect(")")
        if len(args) != FUNCTIONS[name.lower()]:
            self._fail(f"{name}() takes {FUNCTIONS[name.lower()]} argument(s)")
        return ("func", name.lower(), args)

    def _column(self, name: str):
        if name not in self._schema.names:
            raise ValueError(Errors.E590.format(what="column", name=name,
                                                known=", ".join(self._schema.names)))
        self.columns.add(name)
        path = [name]
        if self._peek()[:2] == ("op", "."):
            self._next()
            kind, field, _ = self._next()
            if kind != "name":
                self._i -= 1
                self._fail("expected a field name after '.'")
            struct = self._schema.field(name).type
            if pa.types.is_list(struct):
                struct = struct.value_type
            if not pa.types.is_struct(struct) or struct.get_field_index(field) < 0:
                known = [f.name for f in struct] if pa.types.is_struct(struct) else []
                raise ValueError(Errors.E590.format(what=f"field of {name}", name=field,
                                                    known=", ".join(known) or "(none)"))
            path.append(field)
        return ("col", path)

    # -- evaluation -------------------------------------------------------------------
    def mask(self, batch: pa.RecordBatch) -> pa.Array:
        """A boolean array: True where the row matches (unknown counts as no match)."""
        try:
            result = self._eval(self.tree, batch)
            if isinstance(result, pa.Scalar):
                result = pa.array([result.as_py()] * batch.num_rows, type=result.type)
            if not pa.types.is_boolean(result.type):
                raise TypeError(f"the filter gives {result.type} values, not true / false")
            return pc.fill_null(result, False)
        except (pa.ArrowException, TypeError) as err:
            raise ValueError(Errors.E591.format(where=self.text, reason=err)) from None

    def _eval(self, node, batch: pa.RecordBatch):
        kind = node[0]
        if kind == "lit":
            return pa.scalar(node[1])
        if kind == "col":
            return _column(batch, node[1])
        if kind == "and":
            return pc.and_kleene(self._eval(node[1], batch), self._eval(node[2], batch))
        if kind == "or":
            return pc.or_kleene(self._eval(node[1], batch), self._eval(node[2], batch))
        if kind == "not":
            return pc.invert(self._eval(node[1], batch))
        if kind == "cmp":
            left, right = self._eval(node[2], batch), self._eval(node[3], batch)
            for side in (left, right):
                if pa.types.is_list(side.type):
                    raise TypeError("a list column cannot be compared with a value; use "
                                    "list_contains(column, value) or length(column)")
            return getattr(pc, node[1])(left, right)
        if kind == "isnull":
            value = self._eval(node[1], batch)
            return pc.is_valid(value) if node[2] else pc.is_null(value)
        if kind == "in":
            value = self._eval(node[1], batch)
            result = pc.is_in(value, value_set=pa.array(node[2]).cast(value.type))
            return pc.invert(result) if node[3] else result
        if kind == "like":
            result = pc.match_like(self._eval(node[1], batch), node[2], ignore_case=node[4])
            return pc.invert(result) if node[3] else result
        if kind == "between":
            value = self._eval(node[1], batch)
            result = pc.and_kleene(pc.greater_equal(value, self._eval(node[2], batch)),
                                   pc.less_equal(value, self._eval(node[3], batch)))
            return pc.invert(result) if node[4] else result
        return self._call_function(node[1], [self._eval(a, batch) for a in node[2]])

    def _call_function(self, name: str, args: List[Any]):
        value = args[0]
        if name == "length":
            if pa.types.is_list(value.type):
                return pc.list_value_length(value)
            return pc.utf8_length(value)
        if name in ("lower", "upper"):
            return getattr(pc, f"utf8_{name}")(value)
        pattern = args[1].as_py() if isinstance(args[1], pa.Scalar) else None
        if name == "list_contains":
            if not pa.types.is_list(value.type):
                raise TypeError("list_contains needs a list column first")
            flat = _decoded(pc.list_flatten(value))
            hits = pc.equal(flat, pa.scalar(pattern).cast(flat.type))
            parents = pc.filter(pc.list_parent_indices(value), pc.fill_null(hits, False))
            found = pc.is_in(pa.array(range(len(value)), type=pa.int64()),
                             value_set=pc.unique(parents).cast(pa.int64()))
            return pc.if_else(pc.is_null(value), pa.scalar(None, pa.bool_()), found)
        if not isinstance(pattern, str):
            raise TypeError(f"{name} needs a 'string' as its second argument")
        if name == "contains":
            return pc.match_substring(value, pattern)
        return pc.match_substring_regex(value, pattern)


def _tokenize(text: str) -> List[Tuple[str, Any, int]]:
    tokens, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            tokens.append(("end", None, pos))
            return tokens
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(Errors.E589.format(where=text, reason=f"unexpected character "
                                                f"{text[pos]!r}", pos=pos))
        kind = match.lastgroup
        raw, start = match.group(kind), match.start(kind)
        if kind == "number":
            value = float(raw) if "." in raw else int(raw)
        elif kind == "string":
            value = raw[1:-1].replace("''", "'")
        elif kind == "name" and raw.upper() in KEYWORDS:
            kind, value = "keyword", raw.upper()
        else:
            value = raw
        tokens.append((kind, value, start))
        pos = match.end()


def _decoded(array):
    if pa.types.is_dictionary(array.type):
        return array.dictionary_decode()
    return array


def _column(batch: pa.RecordBatch, path: List[str]):
    array = _decoded(batch.column(path[0]))
    if len(path) == 1:
        if pa.types.is_list(array.type) and pa.types.is_dictionary(array.type.value_type):
            return pa.ListArray.from_arrays(array.offsets, _decoded(array.values),
                                            mask=array.is_null())
        return array
    if pa.types.is_struct(array.type):
        return _decoded(pc.struct_field(array, path[1]))
    values = _decoded(pc.struct_field(array.values, path[1]))
    return pa.ListArray.from_arrays(array.offsets, values, mask=array.is_null())
