"""Offline demo portals: local imitations of government portals for `nianbao demo` and tests."""
