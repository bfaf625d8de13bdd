"""The HTTP stack under the hooks, one module per concern; it names no video API.

``settings`` / ``settings_cache`` (a connection's HTTP settings, shared lookups), ``proxies``,
``clients`` (builders, the per-loop pool), ``transport`` + ``connection`` (the lean HTTP/1.1 transport),
``auth`` (the key, on the API's paths only), ``retrying`` (the one retry loop), ``reading`` (capped
bodies, Reply), ``decoding`` (capped gzip/deflate), ``responses`` (status -> error), ``scrub`` (secrets out).
"""
