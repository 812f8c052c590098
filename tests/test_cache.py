from tools.cache import ResultCache, cache_key


def test_round_trip_and_key_sensitivity(tmp_path):
    cache = ResultCache(tmp_path)
    key = cache_key(model="m", data="d", tool="predict", version="1", params={"id": 1})
    assert cache.get(key) is None
    cache.put(key, {"label": "positive", "p": [0.25, 0.75]})
    assert cache.get(key) == {"label": "positive", "p": [0.25, 0.75]}
    assert cache.hits == 1 and cache.misses == 1
    assert key != cache_key(model="m", data="d", tool="predict", version="2", params={"id": 1})
    assert key == cache_key(params={"id": 1}, version="1", tool="predict", data="d", model="m")


def test_corrupt_entry_is_recomputed_and_overwritten(tmp_path):
    cache = ResultCache(tmp_path)
    key = cache_key(x=1)
    cache.put(key, {"v": 1})
    path = next(tmp_path.rglob(f"{key}.json"))
    path.write_text('{"key": "' + key + '", "value": {"v": ')  # truncated write
    calls = []
    value = cache.get_or_compute(key, lambda: calls.append(1) or {"v": 2})
    assert value == {"v": 2} and calls == [1]
    assert cache.get(key) == {"v": 2}


def test_writes_leave_no_temporary_files(tmp_path):
    cache = ResultCache(tmp_path)
    for i in range(5):
        cache.put(cache_key(i=i), {"i": i})
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
