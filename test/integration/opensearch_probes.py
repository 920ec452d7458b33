"""
What an OpenSearch backend sends to its node, counted at the client.
"""
from azul.backends.opensearch import OpenSearchBackend


class Searches:
    """The number of searches each multi-search and search of a backend sends."""

    def __init__(self, backend: OpenSearchBackend, monkeypatch):
        self.sent: list[int] = []
        msearch, search = backend._reader.msearch, backend._reader.search

        def counting_msearch(body, **kwargs):
            self.sent.append(len(body) // 2)
            return msearch(body=body, **kwargs)

        def counting_search(**kwargs):
            self.sent.append(1)
            return search(**kwargs)

        monkeypatch.setattr(backend._reader, 'msearch', counting_msearch)
        monkeypatch.setattr(backend._reader, 'search', counting_search)

    def take(self) -> list[int]:
        sent, self.sent = self.sent, []
        return sent
