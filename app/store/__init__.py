"""Redis as the service stores in it: the key layout, Lua scripts, the data epoch and failure kinds."""
