"""
The `filters` parameter end to end, on both backends, as the original Azul
answers it: the 400s of its filter schema with its exact messages (the cases
of the original's test/service/test_request_validation.py), and `nested`
accession filters matching partially.
"""
import pytest
from service_oracle import query

SCHEMA = 'The value of the `filters` parameter is invalid against the schema: '

# Literally the original's expected messages
ORIGINAL_FILTER_ERRORS = [
    ({'sourceId': {'is': [None]}}, "None is not of type 'string' at path $.sourceId.is[0]"),
    ({'accessible': {'is': [None]}},
     "None is not of type 'boolean' at path $.accessible.is[0]"),
    ({'accessions': {'is': []}}, '[] should be non-empty at path $.accessions.is'),
    ({'accessions': {'is': ['foo']}}, "'foo' is not of type 'object' at path $.accessions.is[0]"),
    ({'accessions': {'within': ['foo']}}, "'is' is a required property at path $.accessions"),
    ({'accessions': {'is': [{'namespace': 'baz', 'foo': 'bar'}]}},
     "Additional properties are not allowed ('foo' was unexpected) at path $.accessions.is[0]"),
    ({'organismAge': {'is': [{}]}},
     '{} is not valid under any of the given schemas at path $.organismAge.is[0]'),
    ({'organismAge': {'is': []}}, '[] should be non-empty at path $.organismAge.is'),
    ({'sampleDisease': ['H syndrome']},
     "['H syndrome'] is not of type 'object' at path $.sampleDisease"),
    ({'sampleDisease': {'is': 'H syndrome'}},
     "'H syndrome' is not of type 'array' at path $.sampleDisease.is"),
    ({'fileSource': {'is': [['foo:23/33']]}},
     "['foo:23/33'] is not of type 'null', 'string' at path $.fileSource.is[0]"),
    ({'projectTitle': {'contains': ['retina']}},
     "'is' is a required property at path $.projectTitle"),
    ({'bad-field': {'is': ['fake-val']}},
     "Additional properties are not allowed ('bad-field' was unexpected) at path $"),
]


@pytest.mark.parametrize('path', ['/index/projects', '/index/summary'])
@pytest.mark.parametrize('filters, message', ORIGINAL_FILTER_ERRORS)
def test_original_filter_errors(client, path, filters, message):
    reply = client.get(f'{path}?{query(filters=filters)}')
    assert reply.status == 400, reply.body
    assert reply.json == {'Code': 'BadRequestError', 'Message': SCHEMA + message}


# Projects by their accessions in the fixture bundles' project metadata
# (`*_accessions` lists, namespaced by the list's name), looked up by hand
@pytest.mark.parametrize('accession, projects', [
    ({'namespace': 'array_express'}, ['627cb0ba-b8a1-405a-b58f-0add82c3d635',
                                      '8185730f-4113-40d3-9cc3-929271784c2b',
                                      '90bf705c-d891-5ce2-aa54-094488b445c6',
                                      'f2fe82f0-4454-4d84-b416-a885f3121e59']),
    ({'accession': 'E-MTAB-7316'}, ['8185730f-4113-40d3-9cc3-929271784c2b']),
    ({'namespace': 'geo_series', 'accession': 'GSE84465'},
     ['2d846095-8a33-4f3c-97d4-585bafac13b4']),
    ({'namespace': 'insdc_project', 'accession': 'GSE84465'}, []),
])
def test_accessions_match_partially(client, accession, projects):
    filters = {'accessions': {'is': [accession]}}
    reply = client.get(f'/index/projects?{query(filters=filters, size=100, sort="entryId")}')
    assert reply.status == 200, reply.body
    assert [hit['entryId'] for hit in reply.json['hits']] == projects
