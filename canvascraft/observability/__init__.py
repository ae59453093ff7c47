"""What the studio tells its operators: Prometheus metrics read from the studio's rows, and JSON logs
that carry one correlation id along an event chain (drift → alert → retrain → training job).

The server mounts these; nothing here imports Streamlit, the services or the CLI."""
