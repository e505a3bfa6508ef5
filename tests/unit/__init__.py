"""Unit tests of the rule core (no Kafka, no Redis). A package, so that test module
names never collide with those of other test directories and helpers import relatively."""
