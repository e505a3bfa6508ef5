"""A key's home partition: the rule path's murmur2 is Kafka's, so a customer's partition is
the one its producer (Java client, aiokafka) chose."""

from __future__ import annotations

import ctypes
import random

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from agents.routing import home_partitioner, murmur2

#: Kafka's own test vectors (clients' UtilsTest.testMurmur2), signed 32-bit
KAFKA = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


@pytest.mark.parametrize(("text", "expected"), KAFKA.items())
def test_murmur2_gives_kafkas_vectors(text, expected):
    assert ctypes.c_int32(murmur2(text.encode())).value == expected


@pytest.mark.parametrize("length", range(0, 41))
def test_murmur2_equals_aiokafkas_for_any_length(length):
    rng = random.Random(length)
    for _ in range(50):
        data = bytes(rng.randrange(256) for _ in range(length))
        assert murmur2(data) == aiokafka_murmur2(data)


def test_home_partition_is_the_default_partitioners():
    home = home_partitioner(12)
    for n in range(500):
        key = f"C{n:07d}".encode()
        assert home(key) == (aiokafka_murmur2(key) & 0x7FFFFFFF) % 12
        assert home(key) == home(key)  # remembered
