"""The HTTP stack under the hooks, one module per concern; it names no video API.

``settings`` / ``settings_cache`` (a connection's HTTP settings, shared lookups), ``proxies``,
``clients`` (builders, the per-loop pool, the key on the API's paths only, the one retry loop),
``transport`` + ``connection`` (the lean HTTP/1.1 transport), ``responses`` (capped bodies, Reply,
status -> error, wait hints), ``decoding`` (capped gzip/deflate), ``scrub`` (secrets out).
"""
