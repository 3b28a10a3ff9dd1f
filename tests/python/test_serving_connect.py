"""A notebook or script that opens the serving copy again after a publish gets the new copy (real publishes).

The README's Python example, ``duckdb.connect(path, read_only=True)``, run again in the same process while the
first connection lived (a notebook cell re-run), answered from the replaced copy: DuckDB hands back the database
it already has open for that path. ``python_engines.serving.connect`` attaches the file the path names now.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from support import run_isolated

from python_engines.paths import ProjectPaths
from python_engines.serving import REQUIRED_TABLES, connect


def _published_at(con: duckdb.DuckDBPyConnection) -> object:
    return con.execute("select published_at from _published").fetchone()[0]


def test_connect_again_after_a_publish_reads_the_new_copy_and_the_old_one_stays_whole(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect(str(data / "horizonscale.duckdb")) as con:
        for table in REQUIRED_TABLES:
            con.execute(f"create table {table} as select 1 as id")
    paths = ProjectPaths.discover(data)
    first = run_isolated(["horizonscale", "publish"], data, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    old = connect(paths)
    old_published = _published_at(old)
    with duckdb.connect(str(data / "horizonscale.duckdb")) as con:
        con.execute("insert into hosts select 2")

    second = run_isolated(["horizonscale", "publish"], data, tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    new = connect(paths)

    assert _published_at(new) != old_published
    assert new.execute("select count(*) from hosts").fetchone() == (2,)
    assert old.execute("select count(*) from hosts").fetchone() == (1,)  # the reader of the old copy keeps it
    old.close()
    new.close()
