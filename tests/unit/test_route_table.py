"""The route table is the one place routes are written: the router serves it and OpenAPI
describes it, operation for operation."""
from app.api.appkeys import OPENAPI
from app.api.application import create_app
from app.api.routes import routes
from tests.support import settings_with


def test_the_router_serves_exactly_the_operations_openapi_describes():
    app = create_app(settings_with(), open_services=None)  # type: ignore[arg-type]  # never opened
    *operations, last = [route for route in app.router.routes() if route.method != "HEAD"]
    served = {(route.method.lower(), route.resource.canonical, route.handler.__doc__)
              for route in operations if route.resource}
    documented = {(method, path, operation["operationId"])
                  for path, operations in app[OPENAPI]["paths"].items()
                  for method, operation in operations.items()}
    table = routes()

    assert served == {(r.method, r.path, r.handler.__doc__) for r in table}  # a list's is its kind's
    assert documented == {(r.method, r.path, r.operation_id) for r in table}
    assert len({r.operation_id for r in table}) == len(table)
    assert (last.method, last.resource.canonical) == ("*", "/{path}")  # the edge's 404 and 405, last


def test_an_operation_is_described_by_its_handler():
    show = next(route for route in routes() if route.operation_id == "showServer")

    assert show.description == " ".join(show.handler.__doc__.split())
