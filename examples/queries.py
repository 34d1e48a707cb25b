"""The README's queries over the annotate job's output, with DuckDB and with Polars:
entities by label, and the most frequent verb–object pairs (a dependency pattern through
the `head` index).

    python examples/queries.py out/annotated

The pairs need the text (`--keep-text`) for the words; they match a token whose `dep` is a
direct object (`obj` in UD / EWT, `dobj` in spaCy's English labels) and whose head has a
verb tag (PTB `VB*`).
"""
import sys

OBJECT_LABELS = ("obj", "dobj")


def duckdb_entities(output: str):
    import duckdb

    return duckdb.sql(f"""
        SELECT e.label, count(*) AS n
        FROM (SELECT unnest(ents) AS e FROM '{output}/annotations/*.parquet')
        GROUP BY e.label ORDER BY n DESC, e.label
    """).fetchall()


def duckdb_verb_objects(output: str, limit: int = 10):
    import duckdb

    return duckdb.sql(f"""
        WITH tok AS (
            SELECT doc_id, text,
                   generate_subscripts(token_start, 1) - 1 AS i,
                   unnest(token_start) AS s, unnest(token_end) AS e,
                   unnest(tag) AS tag, unnest(dep) AS dep, unnest(head) AS head
            FROM '{output}/annotations/*.parquet' WHERE dep IS NOT NULL)
        SELECT lower(substring(v.text, v.s + 1, v.e - v.s)) AS verb,
               lower(substring(o.text, o.s + 1, o.e - o.s)) AS object, count(*) AS n
        FROM tok o JOIN tok v ON o.doc_id = v.doc_id AND o.head = v.i
        WHERE o.dep IN {OBJECT_LABELS} AND v.tag LIKE 'VB%'
        GROUP BY verb, object ORDER BY n DESC, verb, object LIMIT {limit}
    """).fetchall()


def polars_entities(output: str):
    import polars as pl

    return (pl.scan_parquet(f"{output}/annotations/*.parquet")
            .select(pl.col("ents").explode()).unnest("ents").drop_nulls("label")
            .group_by("label").len("n").sort(["n", "label"], descending=[True, False])
            .collect())


def polars_verb_objects(output: str, limit: int = 10):
    import polars as pl

    token_lists = ["token_start", "token_end", "tag", "dep", "head", "i"]
    word = (pl.col("text").str.slice(pl.col("token_start"),
                                     pl.col("token_end") - pl.col("token_start"))
            .str.to_lowercase())
    tokens = (pl.scan_parquet(f"{output}/annotations/*.parquet")
              .filter(pl.col("dep").is_not_null())
              .with_columns(i=pl.int_ranges(pl.col("token_start").list.len()))
              .select("doc_id", "text", *token_lists).explode(token_lists)
              .with_columns(word=word, tag=pl.col("tag").cast(pl.String),
                            dep=pl.col("dep").cast(pl.String), i=pl.col("i").cast(pl.Int32))
              .select("doc_id", "i", "word", "tag", "dep", "head"))
    objects = tokens.filter(pl.col("dep").is_in(OBJECT_LABELS))
    verbs = tokens.filter(pl.col("tag").str.starts_with("VB"))
    return (objects.join(verbs, left_on=["doc_id", "head"], right_on=["doc_id", "i"],
                         suffix="_head")
            .group_by(verb="word_head", object="word").len("n")
            .sort(["n", "verb", "object"], descending=[True, False, False]).head(limit)
            .collect())


def main(output: str) -> None:
    print("DuckDB, entities by label:", duckdb_entities(output))
    print("DuckDB, verb-object pairs:", duckdb_verb_objects(output))
    print("Polars, entities by label:", polars_entities(output))
    print("Polars, verb-object pairs:", polars_verb_objects(output))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/annotated")
