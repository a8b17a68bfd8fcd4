"""The on-disk spool: order, durability across reopen, torn writes, the size cap, one owner."""

from __future__ import annotations

from pathlib import Path

import pytest

from emostream.sinks.spool import Spool, SpoolError


def _recs(a: int, b: int) -> list[bytes]:
    return [f'{{"n":{i}}}'.encode() for i in range(a, b)]


def test_fifo_across_segments_and_reopen(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=1024)
    for i in range(0, 500, 50):
        sp.append(_recs(i, i + 50))
    assert len(sp) == 500 and len(list(tmp_path.glob("*.log"))) > 3
    assert sp.peek(3) == _recs(0, 3)
    sp.commit(120)
    assert sp.peek(2) == _recs(120, 122) and len(sp) == 380
    sp.close()
    sp = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=1024)
    assert len(sp) == 380 and sp.peek(1) == _recs(120, 121)
    got: list[bytes] = []
    while len(sp):
        batch = sp.peek(64)
        got += batch
        sp.commit(len(batch))
    assert got == _recs(120, 500)
    sp.append(_recs(500, 502))
    assert sp.peek(10) == _recs(500, 502)
    sp.close()


def test_torn_last_record_is_cut(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    sp.append(_recs(0, 5))
    sp.close()
    seg = next(tmp_path.glob("*.log"))
    with open(seg, "ab") as f:
        f.write(b'{"n":5, "half')  # a crash in the middle of a write
    sp = Spool(tmp_path)
    assert len(sp) == 5 and sp.peek(10) == _recs(0, 5)
    sp.append(_recs(6, 7))
    assert sp.peek(10) == _recs(0, 5) + _recs(6, 7)
    sp.close()


def test_cap_drops_oldest_and_counts(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_bytes=4096, segment_bytes=1024)
    for i in range(0, 1000, 10):
        sp.append(_recs(i, i + 10))
    assert sp.dropped > 0 and len(sp) + sp.dropped == 1000
    left = sp.peek(10_000)
    assert left == _recs(1000 - len(sp), 1000), "what is kept is the newest, in order"
    assert sum(p.stat().st_size for p in tmp_path.glob("*.log")) <= 4096 + 1024
    sp.close()


def test_one_owner_at_a_time(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    with pytest.raises(SpoolError, match="in use by another emostream process"):
        Spool(tmp_path)
    sp.close()
    Spool(tmp_path).close()
