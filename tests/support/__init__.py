"""Test support: real services (search-engine nodes, redis-server) started on loopback for the tests and benchmarks."""
