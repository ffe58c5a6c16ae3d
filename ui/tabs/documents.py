"""Documents tab: collections, uploads indexed into Weaviate with live per-file progress, the document list,
and a Search panel whose ranked chunks open into their text and page.

Nothing here holds state that matters: the collection, jobs and documents are read from the engine on
every refresh, so a reload re-attaches to a running ingestion (the timer polls the job rows).
"""

from __future__ import annotations

import html

import gradio as gr

from engine.errors import LoragError
from engine.rag.rerank import default_reranker, reranker_presets
from engine.studio import Studio
from ui.components.sources import SourcesPanel
from ui.errors import shows_errors, warns
from ui.i18n import headers, say, t, table
from ui.people import owner, viewer
from ui.tabs.documents_info import DOC_HEADERS, collection_notes, doc_row, file_status, job_html

POLL_SECONDS = 1.0
UPLOAD_TYPES = [".pdf", ".txt", ".md", ".html", ".htm", ".docx"]
STRATEGIES = ["fast", "auto", "hi_res"]
CSS_CLASS = "lorag-documents"


# --- reading the engine -----------------------------------------------------------------------------------
def _rag(studio: Studio):
    return studio.rag


def _collection_names(studio: Studio, who: str | None = None) -> list[str]:
    """The collections `who` may see (everything when None: no logins)."""
    try:
        return [c.name for c in _rag(studio).list_collections(who)]
    except LoragError:
        return []


def _collection_choices(studio: Studio, who: str | None) -> list[tuple[str, str]]:
    try:
        collections = _rag(studio).list_collections(who)
    except LoragError:
        return []
    if who is None:
        return [(c.name, c.id) for c in collections]

    def label(c) -> str:
        if c.owner and c.owner != who:
            return say("documents.label_shared_by", name=c.name, owner=c.owner)
        return say("documents.label_shared" if c.shared else "documents.label_private", name=c.name)
    return [(label(c), c.id) for c in collections]   # ids: two people may each have a "papers"


def _doc_rows(studio: Studio, name: str | None) -> dict:
    return table(DOC_HEADERS, [doc_row(d) for d in _rag(studio).documents(name)] if name else [])


def _doc_choices(studio: Studio, name: str | None) -> list[tuple[str, str]]:
    if not name:
        return []
    return [(f"{d.filename} ({file_status(d.status)})", d.id) for d in _rag(studio).documents(name)]


def _collection_summary(studio: Studio, name: str | None) -> str:
    if not name:
        return say("documents.no_collection_yet")
    c = _rag(studio).collection(name)
    flag = say("documents.needs_reindex_flag") if c.needs_reindex else ""
    summary = say("documents.summary", name=html.escape(c.name), documents=c.documents, chunks=c.chunks,
                  model=c.index.model, size=c.settings.chunk_size)
    return f"{summary}{flag}\n\n" + collection_notes(c, _rag(studio).documents(c))


def _progress_html(studio: Studio, name: str | None) -> str:
    if not name:
        return ""
    try:
        jobs = _rag(studio).jobs_for(name)
    except LoragError:
        return ""
    active = [j for j in jobs if j.active]
    shown = active or jobs[:1]  # the running jobs, else the last one (its per-file report)
    return "".join(job_html(j) for j in shown)


# --- the tab ------------------------------------------------------------------------------------------------
def create_documents_tab(studio: Studio) -> None:
    with gr.Tab(t("documents.documents"), id="documents", elem_id="tab-documents", elem_classes=CSS_CLASS):
        gr.Markdown(t("documents.documents_collections_of"))
        if studio.weaviate is None:
            gr.Markdown(t("documents.weaviate_is_turned"))
            return
        collection = gr.Dropdown(choices=[], value=None, label=t("documents.collection"), elem_id="doc-collection",
                                 allow_custom_value=False)
        summary = gr.Markdown(elem_id="doc-summary")  # full width: it carries the collection's warnings
        ui = _DocumentsTab(studio, collection, summary)
        ui.build()


class _DocumentsTab:
    """The tab's components and handlers (kept together so each handler stays short)."""

    def __init__(self, studio: Studio, collection: gr.Dropdown, summary: gr.Markdown) -> None:
        self.studio = studio
        self.collection = collection
        self.summary = summary

    def build(self) -> None:
        self._collection_forms()
        self._upload_panel()
        self._documents_panel()
        self._search_panel()
        self._wire_refresh()

    # --- collections ---------------------------------------------------------------------------------------
    def _collection_forms(self) -> None:
        from engine.rag.config import embedding_presets

        first_visit = not _collection_names(self.studio, "" if self.studio.access.login_required else None)
        with gr.Accordion(t("documents.new_collection_rename"), open=first_visit, elem_id="doc-collection-forms"):
            with gr.Row():
                self.new_name = gr.Textbox(label=t("documents.new_collection_name"), placeholder=t("documents.papers"),
                                           elem_id="doc-new-name")
                self.create = gr.Button(t("documents.create_collection"), variant="primary", elem_id="doc-create")
            logins = self.studio.access.login_required
            with gr.Row(visible=logins):
                self.shared = gr.Checkbox(label=t("documents.shared_with_everyone"),
                                          value=False, elem_id="doc-shared")
                self.apply_shared = gr.Button(t("documents.apply_to_the"), elem_id="doc-apply-shared")
            with gr.Row():
                self.rename_to = gr.Textbox(label=t("documents.rename_the_selected"), elem_id="doc-rename-to")
                self.rename = gr.Button(t("documents.rename"), elem_id="doc-rename")
            with gr.Row():
                self.confirm_delete = gr.Checkbox(label=t("documents.yes_delete_the"),
                                                  elem_id="doc-confirm-delete")
                self.delete_collection = gr.Button(t("documents.delete_collection"), variant="stop",
                                                   elem_id="doc-delete-coll")
        with gr.Accordion(t("documents.collection_settings"), open=False, elem_id="doc-settings"):
            models = [(p.label or n, n) for n, p in sorted(embedding_presets().items())]
            with gr.Row():
                self.model = gr.Dropdown(choices=models, label=t("documents.embedding_model"), elem_id="doc-model",
                                         info=t("documents.changing_it_marks"))
                self.strategy = gr.Radio(choices=[(t(f"documents.strategy_{name}"), name) for name in STRATEGIES],
                                         value="fast", label=t("documents.parse_strategy"))
            with gr.Row():
                self.chunk_size = gr.Number(label=t("documents.chunk_size_characters"), value=1000, precision=0)
                self.chunk_overlap = gr.Number(label=t("documents.overlap_characters"), value=150, precision=0)
            with gr.Row():
                self.rerank = gr.Checkbox(label=t("documents.rerank_results_with"), elem_id="doc-rerank",
                                          info=t("documents.better_order_slower"))
                self.reranker = gr.Dropdown(choices=[(p.label, n) for n, p in sorted(reranker_presets().items())],
                                            value=default_reranker(), label=t("documents.reranker"),
                                            elem_id="doc-reranker")
                self.save_settings = gr.Button(t("documents.save_settings"), elem_id="doc-save-settings")

    # --- upload and progress -------------------------------------------------------------------------------
    def _upload_panel(self) -> None:
        gr.Markdown(t("documents.upload"))
        with gr.Row():
            self.files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, type="filepath",
                                 label=t("documents.files_pdf_txt"), elem_id="doc-files", scale=3)
            with gr.Column(scale=1):
                self.password = gr.Textbox(label=t("documents.password_for_protected"), type="password",
                                           elem_id="doc-password")
                self.index = gr.Button(t("documents.index_files"), variant="primary", elem_id="doc-index")
                self.cancel = gr.Button(t("documents.cancel_indexing"), variant="stop", elem_id="doc-cancel")
        self.progress = gr.HTML(elem_id="doc-progress")

    # --- document list ---------------------------------------------------------------------------------------
    def _documents_panel(self) -> None:
        gr.Markdown(t("documents.documents_2"))
        self.docs = gr.Dataframe(headers=headers(DOC_HEADERS), value=[], interactive=False, wrap=True,
                                 elem_id="doc-table")
        with gr.Row():
            self.doc_pick = gr.Dropdown(choices=[], multiselect=True, label=t("documents.documents_to_act"),
                                        elem_id="doc-pick", scale=3)
            self.delete_docs = gr.Button(t("documents.delete"), variant="stop", elem_id="doc-delete")
            self.reindex = gr.Button(t("documents.re_index_all"), elem_id="doc-reindex")

    # --- search -----------------------------------------------------------------------------------------------
    def _search_panel(self) -> None:
        from engine.rag.config import retrieval_defaults

        defaults = retrieval_defaults()
        gr.Markdown(t("documents.search"))
        with gr.Row():
            self.query = gr.Textbox(label=t("documents.query"), placeholder=t("documents.what_does_the"), scale=4,
                                    elem_id="doc-query")
            self.search = gr.Button(t("documents.search_2"), variant="primary", elem_id="doc-search")
        with gr.Row():
            self.top_k = gr.Slider(1, 20, value=defaults.top_k, step=1, label=t("documents.top_k"))
            self.alpha = gr.Slider(0.0, 1.0, value=defaults.alpha, step=0.05,
                                   label=t("documents.hybrid_alpha_0"))
            self.search_docs = gr.Dropdown(choices=[], multiselect=True, label=t("documents.only_these_documents"),
                                           elem_id="doc-search-filter")
        self.results_note = gr.Markdown(elem_id="doc-results-note")
        self.sources = SourcesPanel(self.studio, label=t("documents.ranked_chunks"), elem_id="doc-results")

    # --- events ------------------------------------------------------------------------------------------------
    def _view_outputs(self) -> list:
        return [self.summary, self.docs, self.doc_pick, self.search_docs, self.progress, self.timer]

    def _view(self, name: str | None) -> tuple:
        choices = _doc_choices(self.studio, name)
        return (_collection_summary(self.studio, name), _doc_rows(self.studio, name),
                gr.update(choices=choices, value=[]), gr.update(choices=choices, value=[]),
                _progress_html(self.studio, name), gr.Timer(active=self._moving(name)))

    def _moving(self, name: str | None) -> bool:
        """Poll only while a job of this collection runs or has just ended (an idle page sends nothing)."""
        if not name:
            return False
        try:
            jobs = _rag(self.studio).jobs_for(name)
        except LoragError:
            return False
        return any(j.active or (j.finished_at and j.finished_at > _now() - 3 * POLL_SECONDS) for j in jobs)

    def _settings_values(self, name: str | None) -> tuple:
        if not name:
            return (gr.update(),) * 6
        s = _rag(self.studio).collection(name).settings
        return (s.embedding_model, s.parse_strategy, s.chunk_size, s.chunk_overlap, s.rerank,
                s.reranker or default_reranker())

    def _select(self, name: str | None) -> tuple:
        return (*self._view(name), *self._settings_values(name))

    def _on_select(self, request: gr.Request, name: str | None) -> tuple:
        return self._select(self._seen(name, request))

    def _seen(self, name: str | None, request: gr.Request | None) -> str | None:
        """The collection id `name` when this person may see it, else None."""
        if not name:
            return None
        seen = _collection_choices(self.studio, viewer(self.studio, request))
        return name if name in [value for _, value in seen] else None

    def _with_collections(self, selected: str | None, request: gr.Request | None) -> tuple:
        who = viewer(self.studio, request)
        choices = _collection_choices(self.studio, who)
        names = [value for _, value in choices]
        selected = selected if selected in names else (names[0] if names else None)
        shared = _rag(self.studio).collection(selected).shared if selected else False
        return (gr.update(choices=choices, value=selected), *self._select(selected), shared)

    def _wire_refresh(self) -> None:
        self.timer = gr.Timer(POLL_SECONDS, active=False)
        settings_outputs = [self.model, self.strategy, self.chunk_size, self.chunk_overlap, self.rerank,
                            self.reranker]
        all_outputs = [self.collection, *self._view_outputs(), *settings_outputs, self.shared]
        self.collection.input(shows_errors(self._on_select), inputs=self.collection,
                              outputs=[*self._view_outputs(), *settings_outputs])
        # No trigger and no inputs: Gradio runs it on every page load (fresh collections, re-attach to running jobs).
        gr.on(triggers=None, fn=shows_errors(self._on_load), inputs=[], outputs=all_outputs)

        self.create.click(warns(self._on_create), inputs=[self.new_name, self.shared],
                          outputs=[*all_outputs, self.new_name])
        self.apply_shared.click(warns(self._on_apply_shared), inputs=[self.collection, self.shared],
                                outputs=all_outputs)
        self.rename.click(warns(self._on_rename), inputs=[self.collection, self.rename_to],
                          outputs=[*all_outputs, self.rename_to])
        self.delete_collection.click(warns(self._on_delete_collection),
                                     inputs=[self.collection, self.confirm_delete],
                                     outputs=[*all_outputs, self.confirm_delete])
        self.save_settings.click(warns(self._on_save_settings),
                                 inputs=[self.collection, *settings_outputs], outputs=self._view_outputs())
        self.index.click(warns(self._on_index), inputs=[self.collection, self.files, self.password],
                         outputs=[*self._view_outputs(), self.files, self.password])
        self.cancel.click(warns(self._on_cancel), inputs=self.collection, outputs=self._view_outputs())
        self.delete_docs.click(warns(self._on_delete_docs), inputs=[self.collection, self.doc_pick],
                               outputs=self._view_outputs())
        self.reindex.click(warns(self._on_reindex), inputs=[self.collection, self.doc_pick, self.password],
                           outputs=self._view_outputs())
        search_inputs = [self.collection, self.query, self.top_k, self.alpha, self.search_docs]
        for trigger in (self.search.click, self.query.submit):
            trigger(warns(self._on_search), inputs=search_inputs,
                    outputs=[self.results_note, *self.sources.outputs])
        self.timer.tick(self._on_tick, inputs=self.collection,
                        outputs=[self.progress, self.summary, self.docs, self.doc_pick, self.search_docs,
                                 self.timer], show_progress="hidden")

    # --- handlers ----------------------------------------------------------------------------------------------
    def _on_load(self, request: gr.Request) -> tuple:
        return self._with_collections(None, request)

    def _on_create(self, request: gr.Request, new_name: str, shared: bool) -> tuple:
        logins = self.studio.access.login_required
        created = _rag(self.studio).create_collection(new_name, owner=owner(self.studio, request),
                                                      shared=bool(shared) if logins else True)
        gr.Info(say("documents.created", name=created.name))
        return (*self._with_collections(created.id, request), "")

    def _on_apply_shared(self, request: gr.Request, name: str | None, shared: bool) -> tuple:
        updated = _rag(self.studio).set_shared(self._mine(name, request), bool(shared),
                                               viewer=viewer(self.studio, request))
        gr.Info(say("documents.now_shared" if updated.shared else "documents.now_private", name=updated.name))
        return self._with_collections(updated.id, request)

    def _on_rename(self, request: gr.Request, name: str | None, new_name: str) -> tuple:
        renamed = _rag(self.studio).rename_collection(self._mine(name, request), new_name)
        return (*self._with_collections(renamed.id, request), "")

    def _on_delete_collection(self, request: gr.Request, name: str | None, confirmed: bool) -> tuple:
        if not confirmed:
            raise LoragError("Tick the box to confirm that the collection and its documents should be deleted.",
                             key="documents.tick_to_delete")
        doomed = _rag(self.studio).collection(self._mine(name, request))
        _rag(self.studio).delete_collection(doomed.id)
        gr.Info(say("documents.deleted", name=doomed.name))
        return (*self._with_collections(None, request), False)

    def _on_save_settings(self, request: gr.Request, name: str | None, model: str, strategy: str, size: float,
                          overlap: float, rerank: bool, reranker: str) -> tuple:
        updated = _rag(self.studio).update_collection(self._mine(name, request), embedding_model=model,
                                                      parse_strategy=strategy, chunk_size=int(size or 0),
                                                      chunk_overlap=int(overlap or 0), rerank=bool(rerank),
                                                      reranker=reranker or "")
        gr.Info(say("documents.settings_saved") + (say("documents.needs_reindex") if updated.needs_reindex else ""))
        return self._view(name)

    def _on_index(self, request: gr.Request, name: str | None, files: list[str] | None, password: str) -> tuple:
        if not files:
            raise LoragError("Choose one or more files first.", key="documents.choose_files_first")
        job = _rag(self.studio).ingest(self._mine(name, request), list(files), password=password or "")
        gr.Info(say("documents.indexing", count=len(files)))
        del job
        return (*self._view(name), None, "")

    def _on_cancel(self, request: gr.Request, name: str | None) -> tuple:
        active = _rag(self.studio).jobs_for(self._mine(name, request), active_only=True)
        if not active:
            raise LoragError("Nothing is being indexed in this collection.", key="documents.nothing_indexing")
        for job in active:
            _rag(self.studio).cancel(job.id)
        return self._view(name)

    def _on_delete_docs(self, request: gr.Request, name: str | None, picked: list[str] | None) -> tuple:
        if not picked:
            raise LoragError("Pick the documents to delete first.", key="documents.pick_documents_to_delete")
        current = self._mine(name, request)
        for document_id in picked:
            _rag(self.studio).delete_document(current, document_id)
        gr.Info(say("documents.deleted_documents", count=len(picked)))
        return self._view(name)

    def _on_reindex(self, request: gr.Request, name: str | None, picked: list[str] | None, password: str) -> tuple:
        _rag(self.studio).reindex(self._mine(name, request), picked or None, password=password or "")
        return self._view(name)

    def _on_search(self, request: gr.Request, name: str | None, query: str, k: float, alpha: float,
                   only: list[str] | None) -> tuple:
        current = _rag(self.studio).collection(self._need(name), viewer=viewer(self.studio, request))
        hits = _rag(self.studio).search(current, query, k=int(k), alpha=float(alpha),
                                        document_ids=only or None)
        return (_results_note(hits), *self.sources.show(hits))

    def _on_tick(self, request: gr.Request, name: str | None) -> tuple:
        name = self._seen(name, request)
        if not self._moving(name):
            return (*(gr.update(),) * 5, gr.Timer(active=False))  # nothing moving: stop polling
        choices = _doc_choices(self.studio, name)
        return (_progress_html(self.studio, name), _collection_summary(self.studio, name),
                _doc_rows(self.studio, name), gr.update(choices=choices), gr.update(choices=choices),
                gr.Timer(active=True))

    @staticmethod
    def _need(name: str | None) -> str:
        if not name:
            raise LoragError("Create or choose a collection first.", key="documents.choose_collection")
        return name

    def _mine(self, name: str | None, request: gr.Request | None) -> str:
        """The id of `name` when this person may change it (their own, or one made without logins), else a
        refusal."""
        return _rag(self.studio).check_owner(self._need(name), viewer(self.studio, request)).id


def _now() -> float:
    import time

    return time.time()


def _results_note(hits: list) -> str:
    """How many pages were found, and the documents the question names (their pages were preferred)."""
    if not hits:
        return say("documents.nothing_found")
    named = sorted({h.filename for h in hits if h.named > 0})
    note = say("documents.found_pages", n=len(hits))
    return f"{note} {say('documents.named_in_question', files=', '.join(named))}" if named else note
