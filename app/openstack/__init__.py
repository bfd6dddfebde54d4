"""Everything that talks to OpenStack: credentials per project, the gateway, Nova's shapes."""
