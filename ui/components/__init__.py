"""Reusable UI pieces shared by tabs (sources viewer for search results and chat citations)."""
