"""
Swagger UI at `/`, reading the spec from /openapi. Its script and style sheet
are served by the service itself from `/static/`, out of the pinned
`swagger-ui-bundle` package (see requirements.txt), so the page loads no code
from a third party: what runs in the browser is what was installed with the
service, and an upgrade is a reviewed change of the pin.
"""
import functools

from swagger_ui_bundle import swagger_ui_path

from azul.errors import NotFoundError
from azul.service.responses import Response

# The assets the page uses, and their content types
ASSETS = {
    'swagger-ui.css': 'text/css; charset=utf-8',
    'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
}

# Relative, so that the page works under any prefix (an API Gateway stage)
PAGE = '''<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Azul service</title>
  <link rel="stylesheet" href="static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="static/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: 'openapi', dom_id: '#swagger-ui', deepLinking: true});
  </script>
</body>
</html>
'''


def swagger_ui() -> Response:
    return Response(200, PAGE, {'Content-Type': 'text/html; charset=utf-8'})


@functools.cache
def _asset_text(name: str) -> str:
    return (swagger_ui_path / name).read_text(encoding='utf-8')


def asset(name: str) -> Response:
    """One of the `ASSETS`; any other name is a 404."""
    if name not in ASSETS:
        raise NotFoundError(f'No such file: {name!r}')
    # The package version pins the content, so browsers may keep it a day
    return Response(200, _asset_text(name), {'Content-Type': ASSETS[name],
                                             'Cache-Control': 'public, max-age=86400'})
