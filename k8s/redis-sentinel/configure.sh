#!/bin/sh
# Writes redis.conf and sentinel.conf for this pod into /config. The master is the one the
# sentinels name if any answers (after a failover it is not pod 0), else pod 0 (a first start).
set -eu
me="$(hostname).cloud-servers-redis-ha-headless"
first="cloud-servers-redis-ha-0.cloud-servers-redis-ha-headless"
master="$(redis-cli -h cloud-servers-redis-ha-sentinel -p 26379 --raw \
  sentinel get-master-addr-by-name cloud-servers 2>/dev/null | head -n 1 || true)"
[ -n "$master" ] || master="$first"
cat > /config/redis.conf <<CONF
dir /data
appendonly yes
appendfsync everysec
maxmemory 400mb
maxmemory-policy noeviction
replica-announce-ip $me
CONF
if [ "$master" != "$me" ]; then
  echo "replicaof $master 6379" >> /config/redis.conf
fi
cat > /config/sentinel.conf <<CONF
port 26379
dir /config
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $me
sentinel monitor cloud-servers $master 6379 2
sentinel down-after-milliseconds cloud-servers 5000
sentinel failover-timeout cloud-servers 60000
sentinel parallel-syncs cloud-servers 1
CONF
