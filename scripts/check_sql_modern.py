#!/usr/bin/env python3
"""Run every statement the store emits on a modern ClickHouse engine (chdb-core, ClickHouse 26.x
in-process), in order: DDL, then the read queries, then a small insert and the reads again.

usage: python3 scripts/check_sql_modern.py target/sql-catalog.json [target/grafana-queries.json]

The catalog is written by the store's `catalog_statements_run_on_this_server` test, which runs the
same statements on the 18.16 server; the Grafana queries (panels and variables, macros expanded) by
the `every_panel_query_runs_and_returns_rows` test, which runs them there too. Exits non-zero naming
every statement that fails.
"""
import json
import sys
import tempfile

try:
    from chdb import session as chs
except ImportError:
    print("check_sql_modern: chdb-core is not installed (pip install chdb-core)", file=sys.stderr)
    sys.exit(2)


def main(path):
    with open(path, encoding="utf-8") as f:
        stmts = json.load(f)
    with tempfile.TemporaryDirectory() as d:
        s = chs.Session(d)
        version = s.query("SELECT version()", "CSV").bytes().decode().strip()
        failed = 0
        for name, sql in stmts:
            try:
                s.query(sql, "TabSeparated")
            except Exception as exc:  # chdb raises on server errors
                failed += 1
                print(f"FAIL {name}: {str(exc).splitlines()[0]}\n{sql}\n", file=sys.stderr)
        # The rollup must fill from an insert on the modern engine too.
        try:
            s.query(
                "INSERT INTO faultline.occurrences (project, fingerprint, timestamp, exception_type, message) "
                "VALUES ('shop', 'abc', now(), 'E', 'm'), ('shop', 'abc', now(), 'E', 'm')"
            )
            for name, sql in stmts:
                if name in ("issue_totals", "count_occurrences"):
                    out = s.query(sql, "TabSeparated").bytes().decode()
                    if "2" not in out:
                        failed += 1
                        print(f"FAIL {name}: unexpected result after insert: {out!r}", file=sys.stderr)
        except Exception as exc:
            failed += 1
            print(f"FAIL insert: {exc}", file=sys.stderr)
        # Exactly once on modern servers: an insert replayed with the same deduplication token
        # (what the writer sends after a crash) is dropped, in the table and in its rollups.
        try:
            insert = (
                "INSERT INTO faultline.occurrences (event_id, project, fingerprint, timestamp, exception_type, message) "
                "SETTINGS insert_deduplication_token = 'faultline-0-0-0-99-o', "
                "deduplicate_blocks_in_dependent_materialized_views = 1 "
                "VALUES ('e1', 'dedup', 'fp', now(), 'E', 'm'), ('e2', 'dedup', 'fp', now(), 'E', 'm')"
            )
            s.query(insert)
            s.query(insert)
            raw = s.query("SELECT count() FROM faultline.occurrences WHERE project = 'dedup'", "TabSeparated").bytes().decode().strip()
            rolled = s.query(
                "SELECT countMerge(occurrences) FROM faultline.issue_totals WHERE project = 'dedup'", "TabSeparated"
            ).bytes().decode().strip()
            if (raw, rolled) != ("2", "2"):
                failed += 1
                print(f"FAIL dedup token: replayed insert counted again (occurrences {raw}, issue_totals {rolled})", file=sys.stderr)
            else:
                print("check_sql_modern: a replayed insert with the same token is stored once (table and rollups)")
        except Exception as exc:
            failed += 1
            print(f"FAIL dedup token: {exc}", file=sys.stderr)
        grafana = []
        if len(sys.argv) > 2:
            with open(sys.argv[2], encoding="utf-8") as f:
                grafana = json.load(f)
            # Some request totals too, so the joins have both sides.
            s.query("INSERT INTO faultline.requests_minute VALUES ('shop', 'api', 'prod', toStartOfMinute(now()), 10, 1)")
            s.query("USE faultline")
            for name, sql in grafana:
                try:
                    s.query(sql, "TabSeparated")
                except Exception as exc:
                    failed += 1
                    print(f"FAIL {name}: {str(exc).splitlines()[0]}\n{sql}\n", file=sys.stderr)
        s.close()
    stmts = stmts + grafana
    print(f"check_sql_modern: {len(stmts)} statements on ClickHouse {version}: {len(stmts) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "target/sql-catalog.json"))
