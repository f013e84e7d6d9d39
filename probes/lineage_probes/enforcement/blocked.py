"""`FlowBlocked`: what the application sees when a policy in `enforce` mode stops a write."""

from __future__ import annotations


class FlowBlocked(Exception):
    """A write stopped before it happened: names the policy, the sink and its kind, never a value.

    >>> str(FlowBlocked("p", "http://ads/x", "http"))
    'policy p blocks this request from writing to http://ads/x (http)'
    """

    def __init__(self, policy_id: str, sink: str, kind: str, reason: str = "blocked") -> None:
        self.policy_id, self.sink, self.kind, self.reason = policy_id, sink, kind, reason
        why = "blocks" if reason == "blocked" else "cannot read its zone and blocks"
        super().__init__(f"policy {policy_id} {why} this request from writing to {sink} ({kind})")
