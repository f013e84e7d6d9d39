"""State: per-partition stores on RocksDB, event-time windows, edge aggregates.

Only `state.rocksdb` imports rocksdict; everything else depends on the
`PartitionStore` it provides through `state.transaction.Transaction`.
"""
