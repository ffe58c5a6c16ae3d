"""Settings › Backup on the running studio: a backup into a folder the person names, then offered as a .zip."""

import io
import json
import re
import zipfile

import httpx
import pytest

from tests.support.browser import open_tab

pytestmark = pytest.mark.browser


def test_backup_button_writes_a_backup_and_offers_it_as_a_zip(studio_server, page, tmp_path, test_output):
    target = tmp_path / "my-backup"
    page.goto(studio_server.url, wait_until="load")
    open_tab(page, "Settings")
    page.locator("#backup-folder textarea").fill(str(target))
    page.locator("#backup-start").click()
    report = page.locator("#backup-report")
    report.get_by_text(re.compile("Backup written to")).wait_for(timeout=60_000)
    manifest = json.loads((target / "manifest.json").read_text())
    assert str(target) in report.inner_text() and manifest["format"] == "lorag-backup"
    page.locator("#backup-zip").click()
    link = page.locator("#backup-file a").first
    link.wait_for(timeout=60_000)
    page.screenshot(path=str(test_output / "settings-backup.png"), full_page=True)
    archive = httpx.get(link.get_attribute("href"), timeout=30)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert json.loads(zipped.read("manifest.json")) == manifest
        assert "lorag.sqlite" in zipped.namelist()
    page.locator("#backup-start").click()  # the same folder again: it is not empty now, and the page says so
    page.get_by_text(re.compile("exists and is not empty")).first.wait_for(timeout=30_000)
