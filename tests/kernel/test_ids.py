from __future__ import annotations

from kinfolk.kernel.ids import id_floor_for_ms, id_timestamp_ms, new_id


def test_ids_are_unique_and_increasing_within_a_process() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_sort_by_time_and_fit_in_a_signed_64_bit_integer() -> None:
    early = new_id(at_ms=1_700_000_000_000)
    late = new_id(at_ms=1_800_000_000_000)
    assert early < late < 2**63
    assert id_timestamp_ms(late) == 1_800_000_000_000
    assert id_floor_for_ms(1_800_000_000_000) <= late
