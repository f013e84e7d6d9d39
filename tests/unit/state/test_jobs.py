"""JobWindows: sql_io halves joined by job id, else by trace id; caps; column-lineage memory."""

from __future__ import annotations

from collections.abc import Callable

from state.jobs import IoHalf, JobWindows
from state.rocksdb import PartitionStore
from state.transaction import Transaction
from state.windows import Admission

MakeJobs = Callable[..., JobWindows]
T_IN, T_OUT = "hive://wh/default.src", "hive://wh/default.dst"


def half(job: str, action: str, ts: int, table: str | None = None,
         trace: str | None = None) -> IoHalf:
    table = table or (T_IN if action == "READ" else T_OUT)
    return IoHalf(job_id=job, action=action, table=table, trace_id=trace, ts=ts)


def test_half_round_trips_through_bytes() -> None:
    for item in (half("j", "READ", 1, trace="t"), half("j", "WRITE", 2)):
        assert IoHalf.from_bytes(item.to_bytes()) == item


def test_read_then_write_join_by_job_id(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    read, write = half("j1", "READ", 100), half("j1", "WRITE", 110)
    assert jobs.add(read) == (Admission.STORED, [])
    assert jobs.add(write) == (Admission.STORED, [read])


def test_write_then_read_join_by_job_id(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    write, read = half("j1", "WRITE", 100), half("j1", "READ", 90)
    assert jobs.add(write) == (Admission.STORED, [])
    assert jobs.add(read) == (Admission.STORED, [write])


def test_same_side_halves_do_not_join(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    jobs.add(half("j1", "READ", 100))
    assert jobs.add(half("j1", "READ", 101, table="hive://wh/default.other")) == (
        Admission.STORED, [])


def test_different_jobs_without_a_trace_do_not_join(tx: Transaction,
                                                    make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    jobs.add(half("j1", "READ", 100))
    assert jobs.add(half("j2", "WRITE", 101)) == (Admission.STORED, [])


def test_fallback_join_by_trace_across_two_job_ids(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    read = half("reader-job", "READ", 100, trace="t-77")
    assert jobs.add(read) == (Admission.STORED, [])
    assert jobs.add(half("writer-job", "WRITE", 120, trace="t-77")) == (Admission.STORED, [read])
    assert jobs.add(half("other", "WRITE", 120, trace="t-78")) == (Admission.STORED, [])


def test_job_id_partners_win_over_trace_partners(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    by_trace = half("j2", "READ", 100, table="hive://wh/default.t2", trace="t")
    by_job = half("j1", "READ", 101, trace="t")
    jobs.add(by_trace)
    jobs.add(by_job)
    assert jobs.add(half("j1", "WRITE", 102, trace="t")) == (Admission.STORED, [by_job])


def test_trace_ids_that_prefix_each_other_do_not_join(tx: Transaction,
                                                      make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    jobs.add(half("j1", "READ", 100, trace="a"))
    jobs.add(half("j2", "READ", 100, trace="a|b"))
    assert jobs.add(half("j3", "WRITE", 101, trace="ab")) == (Admission.STORED, [])
    assert [h.job_id for h in jobs.add(half("j4", "WRITE", 101, trace="a"))[1]] == ["j1"]


def test_job_ids_that_prefix_each_other_do_not_join(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    jobs.add(half("job", "READ", 100))
    assert jobs.add(half("job|1", "WRITE", 100)) == (Admission.STORED, [])
    assert jobs.add(half("jobx", "WRITE", 100)) == (Admission.STORED, [])


def test_late_half_is_not_stored(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx, size_ms=1000, allowed_lateness_ms=100)
    jobs.add(half("j1", "READ", 5000))
    assert jobs.add(half("j2", "WRITE", 3900)) == (Admission.LATE, [])
    assert jobs.add(half("j1", "WRITE", 3900)) == (Admission.LATE, [])


def test_expire_forgets_halves_and_trace_links(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx, size_ms=1000, allowed_lateness_ms=100)
    jobs.add(half("j1", "READ", 100, trace="t"))
    jobs.add(half("x", "READ", 1200))  # watermark reaches j1's close_at (1200)
    assert jobs.expire() == 1
    assert list(tx.scan_prefix(b"job|t|")) == []
    assert jobs.add(half("j1", "WRITE", 1150, trace="t")) == (Admission.STORED, [])
    assert jobs.add(half("j2", "WRITE", 1150, trace="t")) == (Admission.STORED, [])


def test_an_expired_job_is_not_joined_before_expire_runs(tx: Transaction,
                                                         make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx, size_ms=1000, allowed_lateness_ms=100)
    jobs.add(half("j1", "READ", 100, trace="t"))
    jobs.add(half("x", "READ", 1300))  # j1 expired; expire() has not run yet
    assert jobs.add(half("j1", "WRITE", 1250)) == (Admission.STORED, [])
    assert jobs.add(half("j2", "WRITE", 1250, trace="t")) == (Admission.STORED, [])
    assert jobs.expire() == 1  # j1's first window, closed early, is counted


def test_max_events_overflow_is_counted(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx, max_events=1)
    assert jobs.add(half("j1", "READ", 100))[0] is Admission.STORED
    assert jobs.add(half("j1", "WRITE", 101)) == (Admission.OVERFLOW, [])
    meta = jobs.windows.meta("j1")
    assert meta is not None and (meta.count, meta.overflow) == (1, 1)


def test_max_bytes_overflow_is_counted(tx: Transaction, make_jobs: MakeJobs) -> None:
    one = len(half("j1", "READ", 100).to_bytes())
    jobs = make_jobs(tx, max_bytes=one + 10)
    assert jobs.add(half("j1", "READ", 100))[0] is Admission.STORED
    assert jobs.add(half("j1", "WRITE", 101))[0] is Admission.OVERFLOW
    assert jobs.add(half("j2", "WRITE", 101))[0] is Admission.STORED  # caps are per job


def test_column_lineage_memory_is_per_ordered_pair(tx: Transaction, make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tx)
    assert not jobs.has_column_lineage(T_IN, T_OUT)
    jobs.mark_column_lineage(T_IN, T_OUT)
    assert jobs.has_column_lineage(T_IN, T_OUT)
    assert not jobs.has_column_lineage(T_OUT, T_IN)


def test_halves_and_column_lineage_survive_a_restart(
    open_store: Callable[[], PartitionStore], make_jobs: MakeJobs,
) -> None:
    store = open_store()
    tx = Transaction(store)
    jobs = make_jobs(tx)
    read = half("j1", "READ", 100, trace="t")
    jobs.add(read)
    jobs.mark_column_lineage(T_IN, T_OUT)
    tx.commit(3)
    store.close()

    jobs = make_jobs(Transaction(open_store()))
    assert jobs.has_column_lineage(T_IN, T_OUT)
    assert jobs.add(half("j9", "WRITE", 150, trace="t")) == (Admission.STORED, [read])
