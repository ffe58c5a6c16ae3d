"""The page's Gradio endpoints: only the few that scripts and tests call are public, each under its explicit name;
every other event handler is hidden, so renaming a handler never renames (or adds) a public API endpoint."""

from engine.settings import Settings
from engine.studio import Studio
from ui.app import PUBLIC_ENDPOINTS, build_app


def test_only_the_named_endpoints_are_public(tmp_path):
    app = build_app(Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True)))
    public = {event.api_name for event in app.fns.values() if event.api_visibility == "public"}
    assert public == PUBLIC_ENDPOINTS
    documented = app.get_api_info()["named_endpoints"]
    assert set(documented) == {f"/{name}" for name in PUBLIC_ENDPOINTS}
    assert len(app.fns) > 3 * len(PUBLIC_ENDPOINTS)      # the page's own events are still there, hidden
