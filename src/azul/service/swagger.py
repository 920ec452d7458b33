"""
Swagger UI at `/`, reading the spec from /openapi. The UI's assets come from a
CDN, so the service serves only this page and ships no JavaScript.
"""
from azul.service.responses import Response

SWAGGER_UI_VERSION = '5.17.14'
CDN = f'https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}'

PAGE = f'''<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Azul service</title>
  <link rel="stylesheet" href="{CDN}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{CDN}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{url: 'openapi', dom_id: '#swagger-ui', deepLinking: true}});
  </script>
</body>
</html>
'''


def swagger_ui() -> Response:
    return Response(200, PAGE, {'Content-Type': 'text/html; charset=utf-8'})
