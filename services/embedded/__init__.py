"""The embedded stack of `make run` and the tests: the Kafka-protocol broker and Valkey from
their wheels, and the five services as child processes."""
