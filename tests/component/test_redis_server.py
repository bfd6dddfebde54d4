"""The test session's own Redis: a real server on a free loopback port, empty for each test."""
import pytest


async def test_a_real_redis_server_answers_on_loopback(redis, redis_server):
    info = await redis.info("server")

    assert await redis.ping() is True
    assert redis_server.url.startswith("redis://127.0.0.1:") and redis_server.port != 6379
    assert info["tcp_port"] == redis_server.port and int(info["redis_version"].split(".")[0]) >= 6


async def test_persistence_is_off(redis):
    config = await redis.config_get("save")

    assert config["save"] == ""


@pytest.mark.parametrize("run", [1, 2])
async def test_every_test_starts_with_an_empty_database(redis, run):
    assert await redis.dbsize() == 0
    await redis.set("left-behind", run)
