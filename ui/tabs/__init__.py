"""One module per tab; each exposes create_<name>_tab(studio)."""
