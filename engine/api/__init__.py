"""The OpenAI-compatible API under /v1, served on the page's port when --api is given.

- `app.create_api_app(studio) -> FastAPI`: the routes (models, chat completions, completions, embeddings), their
  auth (engine.api.auth) and OpenAI-shaped errors (engine.api.errors). Standalone: tests drive it directly.
- `mount.api_app_kwargs(studio)`: what launch.py hands to Gradio's launch(app_kwargs=...) so that the API is
  mounted at /v1 on the same server (share link included).
- `evaluation.add_evaluation_routes(api, studio)`: /v1/evaluation (sets, runs, progress, results, cancel) over
  studio.evaluation, behind the same credentials.
- `service.OpenAIService`: requests -> engine calls (studio.models.stream_chat / stream_completion, the same
  generation path as the Chat tab) and back to OpenAI's JSON.

No gradio import here: the API is usable without the UI.
"""
