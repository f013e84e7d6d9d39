"""Archive topics to Parquet and replay history into a fresh pipeline.

`manifest` records what an archive holds; `writer` copies topics into it;
`reader` reads it back (skipping unreadable files); `source` reads history
from Kafka; `replay` produces records into a destination prefix.
"""
