"""Reusable Streamlit widgets; each renders plain data that a service returned."""
