"""Streamlit-specific helpers for the FaceROC dashboard (never imported by faceroc_core)."""
