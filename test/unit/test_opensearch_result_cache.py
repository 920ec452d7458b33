"""The LRU and the keys of the OpenSearch backend's cache of counts, without a cluster."""
import threading

from azul.backends.opensearch.cache import ResultCache, cache_key


def test_keys_ignore_the_order_of_dict_entries():
    a = {'query': {'match_all': {}}, 'aggs': {'x': {'terms': {'field': 'f', 'size': 10}}}}
    b = {'aggs': {'x': {'terms': {'size': 10, 'field': 'f'}}}, 'query': {'match_all': {}}}
    assert cache_key('i', 'v', a) == cache_key('i', 'v', b)
    # But not the index, the version or any value
    assert cache_key('j', 'v', a) != cache_key('i', 'v', a)
    assert cache_key('i', 'w', a) != cache_key('i', 'v', a)
    c = {'query': {'match_all': {}}, 'aggs': {'x': {'terms': {'field': 'f', 'size': 11}}}}
    assert cache_key('i', 'v', c) != cache_key('i', 'v', a)
    # Lists keep their order: a sort is not a set
    assert cache_key('i', 'v', {'sort': [1, 2]}) != cache_key('i', 'v', {'sort': [2, 1]})


def test_least_recently_used_goes_first():
    cache = ResultCache(size=2)
    keys = [cache_key('i', 'v', {'n': n}) for n in range(3)]
    cache.put(keys[0], {'r': 0})
    cache.put(keys[1], {'r': 1})
    assert cache.get(keys[0]) == {'r': 0}
    # keys[1] is now the least recently used
    cache.put(keys[2], {'r': 2})
    assert cache.get(keys[1]) is None
    assert (cache.get(keys[0]), cache.get(keys[2])) == ({'r': 0}, {'r': 2})
    assert len(cache) == 2


def test_no_key_no_entry():
    cache = ResultCache()
    cache.put(None, {'r': 0})
    assert len(cache) == 0 and cache.get(None) is None
    off = ResultCache(size=0)
    off.put(cache_key('i', 'v', {}), {'r': 0})
    assert len(off) == 0


def test_threads_share_one_cache():
    cache = ResultCache(size=8)

    def work(n: int) -> None:
        for i in range(200):
            key = cache_key('i', 'v', {'n': (n * 200 + i) % 12})
            cache.put(key, {'n': n})
            cache.get(key)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 8
