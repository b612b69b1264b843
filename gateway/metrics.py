"""``/metrics`` in the Prometheus text format, read from the running parts at scrape time.

Nothing here runs per event: the hot path keeps plain counters (session state,
writer stats, book keepers, quotas) and this collector turns them into metric
families when Prometheus asks. No label or value ever holds a secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from gateway.publish.writer import LATENCY_BUCKETS, StreamWriter
from gateway.session import Session
from gateway.upstreams import UpstreamPool

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class GatewayCollector(Collector):
    """Builds every metric family from the gateway's counters."""

    def __init__(
        self,
        writer: StreamWriter,
        pools: Callable[[], Mapping[str, UpstreamPool]],
    ) -> None:
        self._writer = writer
        self._pools = pools

    def collect(self) -> Iterator[Metric]:
        pools = self._pools()
        sessions: Sequence[tuple[str, Session]] = [
            (name, s) for name, pool in pools.items() for s in pool.sessions
        ]
        yield from self._upstream_metrics(sessions)
        yield from self._quota_metrics(pools)
        yield from self._publish_metrics()

    def _upstream_metrics(self, sessions: Sequence[tuple[str, Session]]) -> Iterator[Metric]:
        labels = ["upstream", "connection"]
        frames = CounterMetricFamily("feedgate_upstream_frames", "Frames received", labels=labels)
        connects = CounterMetricFamily(
            "feedgate_upstream_connects", "Connections opened (reconnects = connects - 1)",
            labels=labels,
        )  # fmt: skip
        age = GaugeMetricFamily(
            "feedgate_upstream_last_frame_age_seconds", "Seconds since the last frame",
            labels=labels,
        )  # fmt: skip
        up = GaugeMetricFamily("feedgate_upstream_connected", "1 when connected", labels=labels)
        errors = CounterMetricFamily(
            "feedgate_decode_errors", "Bad frames by kind", labels=["upstream", "kind"]
        )
        gaps = CounterMetricFamily(
            "feedgate_gaps", "Gap events announced", labels=["upstream", "reason"]
        )
        subscribed = GaugeMetricFamily(
            "feedgate_topics_subscribed", "Topics the upstream confirmed", labels=labels
        )
        now = time.time_ns()
        by_kind: dict[tuple[str, str], int] = {}
        by_reason: dict[tuple[str, str], int] = {}
        for upstream, session in sessions:
            state = session.state
            key = [upstream, session.name]
            frames.add_metric(key, state.frames)
            connects.add_metric(key, state.connects)
            up.add_metric(key, 1 if state.connected else 0)
            subscribed.add_metric(key, len(state.subscribed))
            if state.last_frame_ns:
                age.add_metric(key, (now - state.last_frame_ns) / 1e9)
            for kind, count in state.decode_errors.items():
                by_kind[(upstream, kind)] = by_kind.get((upstream, kind), 0) + count
            for reason, count in (("reconnect", state.gaps), ("sequence", session.books.gaps)):
                by_reason[(upstream, reason)] = by_reason.get((upstream, reason), 0) + count
        for (upstream, kind), count in sorted(by_kind.items()):
            errors.add_metric([upstream, kind], count)
        for (upstream, reason), count in sorted(by_reason.items()):
            gaps.add_metric([upstream, reason], count)
        gaps.add_metric(["publisher", "publish_buffer_full"], self._writer.stats.gaps)
        yield from (frames, connects, age, up, errors, gaps, subscribed)

    @staticmethod
    def _quota_metrics(pools: Mapping[str, UpstreamPool]) -> Iterator[Metric]:
        limit = GaugeMetricFamily(
            "feedgate_quota_limit", "Quota limits per upstream", labels=["upstream", "quota"]
        )
        used = GaugeMetricFamily(
            "feedgate_quota_used", "Quota in use per upstream", labels=["upstream", "quota"]
        )
        for name, pool in pools.items():
            quotas = pool.quotas
            loads = [len(s.topics) for s in pool.sessions]
            usage = {
                "connections": len(loads),
                "subscriptions_total": sum(loads),
                "subscriptions_per_connection": max(loads, default=0),
            }
            for quota, value in usage.items():
                used.add_metric([name, quota], value)
                limit.add_metric([name, quota], getattr(quotas, quota))
        yield from (limit, used)

    def _publish_metrics(self) -> Iterator[Metric]:
        writer = self._writer
        stats = writer.stats
        written = CounterMetricFamily(
            "feedgate_events_written", "Entries Redis acknowledged", labels=["topic"]
        )
        refused = CounterMetricFamily(
            "feedgate_events_refused", "Entries Redis refused", labels=["topic"]
        )
        dropped = CounterMetricFamily(
            "feedgate_events_dropped", "Entries dropped: publish buffer full", labels=["topic"]
        )
        for family, counts in ((written, stats.written), (refused, stats.errors),
                               (dropped, stats.dropped)):  # fmt: skip
            for topic, count in sorted(counts.items()):
                family.add_metric([topic], count)
        yield from (written, refused, dropped)
        yield GaugeMetricFamily("feedgate_publish_buffer_events", "Entries waiting",
                                value=writer.pending)  # fmt: skip
        yield GaugeMetricFamily("feedgate_redis_connected", "1 when the publisher is connected",
                                value=1 if writer.connected else 0)  # fmt: skip
        yield GaugeMetricFamily("feedgate_publish_lag_seconds",
                                "Receive to acknowledged, newest entry of the last batch",
                                value=stats.lag_ns / 1e9)  # fmt: skip
        cumulative, buckets = 0, []
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), stats.latency_counts,
                                strict=True):  # fmt: skip
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily(
            "feedgate_publish_latency_seconds",
            "Receive to acknowledged, oldest entry of each batch",
            buckets=buckets,
            sum_value=stats.latency_sum,
        )


def render(collector: GatewayCollector) -> bytes:
    """The text exposition of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return bytes(generate_latest(registry))
