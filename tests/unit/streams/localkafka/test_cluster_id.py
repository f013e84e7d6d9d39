import base64
import uuid

import pytest

from streams.localkafka import broker


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # the first draw encodes to an id starting with "-" (the storage tool would read it
    # as an option and refuse to format); the next one is taken
    dashed = uuid.UUID(bytes=b"\xf8" + bytes(15))
    plain = uuid.UUID(bytes=b"\x10" * 16)
    draws = iter([dashed, plain])
    monkeypatch.setattr(broker.uuid, "uuid4", lambda: next(draws))
    assert base64.urlsafe_b64encode(dashed.bytes).decode().startswith("-")
    cluster_id = broker.new_cluster_id()
    assert cluster_id == base64.urlsafe_b64encode(plain.bytes).rstrip(b"=").decode()
    assert len(cluster_id) == 22
