"""Backups of the data folder: a folder with a manifest, made while the studio runs, restored into an empty data
folder (engine.backup.create, engine.backup.restore; `launch.py backup DIR` / `restore DIR`)."""
