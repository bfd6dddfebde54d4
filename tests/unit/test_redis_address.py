"""REDIS_URL read as one server, a cluster or a master behind Sentinel."""
import pytest

from app.store.redis_address import RedisAddressError, check_redis_url, is_cluster, sentinel_address


def test_a_sentinel_url_names_its_sentinels_master_database_and_secrets():
    address = sentinel_address("rediss+sentinel://reader:p%40ss@s-0:26379,s-1:26380,[::1]:26381/mymaster/2")

    assert address.sentinels == [("s-0", 26379), ("s-1", 26380), ("::1", 26381)]
    assert (address.master, address.db, address.tls) == ("mymaster", 2, True)
    assert (address.username, address.password) == ("reader", "p@ss")
    assert "p@ss" not in repr(address)


def test_a_sentinel_url_without_database_or_password_takes_zero_and_none():
    address = sentinel_address("redis+sentinel://127.0.0.1:26379/cloud-servers")

    assert (address.db, address.tls, address.password, address.username) == (0, False, None, None)


@pytest.mark.parametrize("url, reason", [
    ("redis+sentinel://127.0.0.1:26379", "names the master"),
    ("redis+sentinel://127.0.0.1:26379/", "names the master"),
    ("redis+sentinel://127.0.0.1/mymaster", "host:port"),
    ("redis+sentinel://127.0.0.1:99999/mymaster", "host:port"),
    ("redis+sentinel://127.0.0.1:26379/mymaster/zero", "is a number"),
    ("redis+sentinel://127.0.0.1:26379/a/1/extra", "names the master"),
])
def test_a_malformed_sentinel_url_is_refused_saying_why(url, reason):
    with pytest.raises(RedisAddressError, match=reason):
        sentinel_address(url)
    assert reason in check_redis_url(url)


def test_other_urls_are_no_sentinels_and_the_unknown_schemes_are_refused():
    assert sentinel_address("redis://127.0.0.1:6379/0") is None
    assert is_cluster("rediss+cluster://node:6379/0") and not is_cluster("redis://node:6379/0")
    assert check_redis_url("redis://127.0.0.1:6379/0") is None
    assert "must start with" in check_redis_url("memcached://127.0.0.1:11211")
    assert "secret" not in check_redis_url("redis+sentinel://:secret@127.0.0.1/x")
