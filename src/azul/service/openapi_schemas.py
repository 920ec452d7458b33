"""
JSON schemas of the OpenAPI document: request parameters derived from the
catalogs' field registries, and the response bodies, close to the reference
description of the original Azul service.
"""
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from azul.core.fields import Field
from azul.core.filters import filters_schema as core_filters_schema

Schema = dict[str, Any]


def array(items: Schema, **extra: Any) -> Schema:
    return {'type': 'array', 'items': items, **extra}


def obj(properties: Mapping[str, Schema], required: Iterable[str] = (),
        additional: bool | Schema = False) -> Schema:
    schema: Schema = {'type': 'object', 'properties': dict(properties),
                      'additionalProperties': additional}
    required = list(required)
    if required:
        schema['required'] = required
    return schema


string = {'type': 'string'}
nullable_string = {'type': 'string', 'nullable': True}
integer = {'type': 'integer', 'format': 'int64'}
number = {'type': 'number', 'format': 'double'}
boolean = {'type': 'boolean'}
any_object = obj({}, additional=True)
# Any JSON value, null included
anything: Schema = {}


def filters_schema(fields: Sequence[Field]) -> Schema:
    """
    The schema of `filters`: the filter parser's own (the original's), so that
    the description and the validation cannot disagree.
    """
    example = {'fileFormat': {'is': ['fastq.gz']}} if any(
        f.name == 'fileFormat' for f in fields) else {}
    return {**core_filters_schema(fields), 'example': example}


error = obj({'Code': string, 'Message': string}, required=['Code', 'Message'])
# The original answers an unknown health check key with a message only
health_keys_error = obj({'Message': string}, required=['Message'])

pagination = obj({
    'count': integer,
    'total': integer,
    'size': integer,
    'next': nullable_string,
    'previous': nullable_string,
    'pages': integer,
    'sort': string,
    'order': {'type': 'string', 'enum': ['asc', 'desc']},
}, required=['count', 'total', 'size', 'next', 'previous', 'pages', 'sort', 'order'])

term = obj({'term': anything, 'count': integer}, required=['term', 'count'],
           additional=array(anything))

term_facet = obj({
    'terms': array(term),
    'total': integer,
    'type': {'type': 'string', 'enum': ['terms']},
}, required=['terms', 'total', 'type'])

# The inner entity arrays every hit of a plugin carries
_hit_arrays: Mapping[str, Sequence[str]] = {
    'hca': ('protocols', 'sources', 'projects', 'samples', 'specimens', 'cellLines',
            'donorOrganisms', 'organoids', 'cellSuspensions', 'dates'),
}


def hit(plugins: Iterable[str]) -> Schema:
    """The schema of one hit; only arrays every catalog's plugin has are required."""
    arrays = [set(_hit_arrays.get(p, ())) for p in plugins]
    common = sorted(set.intersection(*arrays)) if arrays else []
    return obj({'entryId': string, **{name: array(any_object) for name in common}},
               required=['entryId', *common], additional=True)


def search_response(plugins: Iterable[str]) -> Schema:
    return obj({
        'hits': array(hit(plugins)),
        'pagination': pagination,
        'termFacets': obj({}, additional=term_facet),
    }, required=['hits', 'pagination', 'termFacets'])


summary = obj({
    'projectCount': integer,
    'specimenCount': integer,
    'speciesCount': integer,
    'fileCount': integer,
    'totalFileSize': number,
    'donorCount': integer,
    'labCount': integer,
    'organTypes': array(nullable_string),
    'fileTypeSummaries': array(any_object),
    'cellCountSummaries': array(any_object),
    'projects': array(any_object),
}, required=['projectCount', 'specimenCount', 'speciesCount', 'fileCount', 'totalFileSize',
             'donorCount', 'labCount', 'organTypes', 'fileTypeSummaries',
             'cellCountSummaries'], additional=True)

catalogs = obj({
    'default_catalog': string,
    'catalogs': obj({}, additional=obj({
        'atlas': string,
        'internal': boolean,
        'plugins': obj({}, additional=obj({
            'name': string,
            'sources': array(string),
            'indices': obj({}, additional=obj({'default_sort': string,
                                               'default_order': string},
                                              required=['default_sort', 'default_order'])),
        }, required=['name'])),
    }, required=['atlas', 'internal', 'plugins'])),
}, required=['default_catalog', 'catalogs'])

version = obj({
    'git': obj({'commit': string, 'dirty': boolean}, required=['commit', 'dirty']),
    'changes': array(obj({'title': string, 'issues': array(string),
                          'upgrade': array(string), 'notes': string},
                         required=['title', 'issues', 'upgrade'])),
}, required=['git', 'changes'])


def health(up: bool) -> Schema:
    flag = {'type': 'boolean', 'enum': [up]}
    # A failing response may still hold checks that passed
    nested = flag if up else boolean
    return obj({'up': flag}, required=['up'],
               additional=obj({'up': nested}, required=['up'], additional=True))


fetch_file = obj({'Status': integer, 'Location': string}, required=['Status', 'Location'])

openapi = obj({
    'openapi': string,
    'info': any_object,
    'tags': array(any_object),
    'servers': array(any_object),
    'paths': any_object,
    'components': any_object,
}, required=['openapi', 'info', 'paths'], additional=True)
