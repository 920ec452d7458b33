"""
The pure parts of OpenSearch's kept counts (`azul.backends.opensearch.kept`):
deltas of writes and responses built from counts, against values worked out
by hand.
"""
from azul.backends.opensearch import kept
from azul.backends.opensearch.kept import EXACT, counts_response, delta, recountable, usable

OLD = {'facet_terms': ['format\t"bam"', 'organ\t"brain"', 'organ\tnull'],
       'fields': {'size': [10, 5], 'cells': 2.0}}
NEW = {'facet_terms': ['format\t"bam"', 'organ\t"liver"'],
       'fields': {'size': [7], 'cells': 0.5}}
SPEC = ['sum\tformat\tsize', 'sum\torgan\tsize', 'distinct\torgan\tformat']


def test_delta_of_an_update():
    d = delta([OLD], [NEW], ['cells', 'size'], SPEC)
    assert d.total == 0
    # The unchanged term cancels out
    assert d.terms == {'organ\t"brain"': -1, 'organ\tnull': -1, 'organ\t"liver"': 1}
    # 0.5 is not an integer: that sum is no longer kept
    assert d.sums == {'cells': None, 'size': -8}
    assert d.grouped == {
        'sum\tformat\tsize': {'format\t"bam"': -8},
        'sum\torgan\tsize': {'organ\t"brain"': -15, 'organ\tnull': -15, 'organ\t"liver"': 7},
        'distinct\torgan\tformat': {'organ\t"brain"\nformat\t"bam"': -1,
                                    'organ\tnull\nformat\t"bam"': -1,
                                    'organ\t"liver"\nformat\t"bam"': 1},
    }


def test_delta_of_a_create_and_a_delete():
    assert delta([], [OLD], ['size']).params() == {
        'total': 1, 'terms': {'format\t"bam"': 1, 'organ\t"brain"': 1, 'organ\tnull': 1},
        'sums': {'size': 15}, 'grouped': {}}
    assert delta([OLD], [], ['size']).sums == {'size': -15}


def test_sums_beyond_doubles_are_not_kept():
    big = {'facet_terms': [], 'fields': {'size': [EXACT]}}
    assert delta([], [big], ['size']).sums == {'size': None}
    assert delta([], [{'fields': {'size': [True]}}], ['size']).sums == {'size': None}


def test_counts_response_orders_as_a_terms_aggregation():
    response = counts_response({'total': 3, 'terms': {'b\t"x"': 1, 'a\t"y"': 2, 'a\t"x"': 1}})
    assert response['hits']['total']['value'] == 3
    assert response['aggregations']['facet_terms']['buckets'] == [
        {'key': 'a\t"y"', 'doc_count': 2},
        {'key': 'a\t"x"', 'doc_count': 1},
        {'key': 'b\t"x"', 'doc_count': 1},
    ]


def test_a_facets_response_from_the_counts():
    counts = {'total': 4, 'terms': {'age\t[1.0, 2.5]': 2, 'age\tnull': 1, 'agent\t"x"': 3,
                                    'age\t[0.0, 1.0]': 1}}
    # Only the facet's own terms (not `agent`'s, whose name starts alike), its
    # keys as `facet_terms` holds them (a range's a list), the null apart
    assert kept.facet_response(counts, 'age') == {
        'hits': {'total': {'value': 4}},
        'aggregations': {'terms': {'sum_other_doc_count': 0, 'buckets': [
            {'key': [1.0, 2.5], 'doc_count': 2}, {'key': [0.0, 1.0], 'doc_count': 1}]},
            'null': {'doc_count': 1}}}
    many = {'total': 1, 'terms': {f'n\t{i}': 1 for i in range(kept.TERMS_SIZE + 1)}}
    # More terms than the search would list: searched, to fail as it does
    assert kept.facet_response(many, 'n') is None


def test_when_counts_are_used_or_recounted():
    now = 1000.0
    valid = {'valid': True, 'leases': {}, 'total': 0, 'terms': {}, 'sums': {}}
    assert usable(valid) and not recountable(valid, now)
    live = {**valid, 'leases': {'w': now + 1}}
    assert not usable(live) and not recountable(live, now)
    expired = {**valid, 'leases': {'w': now - 1, 'v': now - 5}}
    assert not usable(expired) and recountable(expired, now)
    invalid = {'valid': False, 'leases': {}}
    assert not usable(invalid) and recountable(invalid, now)
    loading = {**valid, 'loading': True}
    assert not usable(loading) and not recountable(loading, now)
