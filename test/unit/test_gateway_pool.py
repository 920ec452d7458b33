"""
The local server's pool of Chalice apps, under a request that arrives while the
first app's routes are being recorded. CI once answered such a request with a 404
(`test_concurrent_requests_get_their_own_answers`): the routes were visible
before their matcher. Here the interleaving is forced instead of left to the
thread scheduler.
"""
import threading

from chalice import Chalice

from azul.adapters import server


def _app() -> Chalice:
    app = Chalice(app_name='pool-test')

    @app.route('/index/{entity_type}')
    def index(entity_type):
        return {}

    return app


def test_second_request_never_sees_routes_without_matcher(monkeypatch):
    real_matcher = server.RouteMatcher
    first_inside = threading.Event()
    second_done = threading.Event()
    calls = []

    def slow_first_matcher(routes):
        # The first request stalls while building its matcher, until the second
        # request has matched its path, or for a second: the second request may
        # need a matcher of its own. Only matchers of some routes are counted.
        if routes:
            calls.append(routes)
            if len(calls) == 1:
                first_inside.set()
                second_done.wait(timeout=1)
        return real_matcher(routes)

    monkeypatch.setattr(server, 'RouteMatcher', slow_first_matcher)
    pool = server._GatewayPool(_app)
    outcome = {}

    def first():
        with pool.borrow():
            pass

    def second():
        try:
            with pool.borrow():
                outcome['route'] = pool.matcher.match_route('/index/files').route
                outcome['methods'] = pool.routes[outcome['route']]
        except Exception as e:
            outcome['error'] = repr(e)
        finally:
            second_done.set()

    a = threading.Thread(target=first)
    a.start()
    assert first_inside.wait(timeout=5)
    b = threading.Thread(target=second)
    b.start()
    b.join(5)
    a.join(5)
    # Literal expectations: the one route `_app` declares, with its default method
    assert outcome == {'route': '/index/{entity_type}', 'methods': frozenset({'GET'})}
