"""How ``make chaos`` judges webhook delivery against the events a stream held: an event never
delivered, or a server's events first arriving out of stream order, is a miss; repeats are not."""
from devtools.chaos_webhooks import ChaosReceiver, StreamWitness, judge


def witnessed(*events: tuple[str, str]) -> StreamWitness:
    """A witness that saw ``(event id, server id)`` pairs in this stream order."""
    return StreamWitness("p", servers=dict(events))


def received(*event_ids: str) -> ChaosReceiver:
    receiver = ChaosReceiver()
    receiver.arrivals = list(event_ids)
    return receiver


def test_every_event_delivered_in_order_per_server_is_met_whatever_the_interleaving():
    stream = witnessed(("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"))
    verdict = judge(stream, received("b1", "a1", "b2", "a2", "a1"))  # a1 again: at least once
    assert (verdict.missing, verdict.disordered, verdict.events, verdict.met) == ([], [], 4, True)


def test_an_event_never_delivered_is_missing():
    verdict = judge(witnessed(("a1", "a"), ("a2", "a")), received("a1"))
    assert (verdict.missing, verdict.met) == (["a2"], False)


def test_a_servers_events_first_arriving_out_of_stream_order_are_disordered():
    verdict = judge(witnessed(("a1", "a"), ("a2", "a"), ("b1", "b")), received("a2", "b1", "a1", "a2"))
    assert (verdict.missing, verdict.disordered, verdict.met) == ([], ["a"], False)


def test_nothing_to_judge_is_not_met():
    assert not judge(witnessed(), received()).met
