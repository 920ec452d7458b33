"""GA4GH DRS endpoints (to be written)."""
from azul.service.routes import Route

ROUTES: tuple[Route, ...] = ()
