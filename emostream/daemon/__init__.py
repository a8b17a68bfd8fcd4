"""The daemon: wiring (:mod:`.pipeline`, :mod:`.channel`), running it (:mod:`.run`), sharding cameras
across daemons (:mod:`.shard`), its HTTP endpoint (:mod:`.health`) and the private Redis
(:mod:`.localredis`)."""
