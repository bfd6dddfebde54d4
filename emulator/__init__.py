"""A stateful OpenStack emulator (Keystone v3, Nova v2.1, Glance v2, Neutron v2.0) for development and tests.

It is a development tool: the product (``app``, ``workers``) never imports it and talks to it
only over HTTP through openstacksdk, exactly as it talks to a real cloud.
"""
