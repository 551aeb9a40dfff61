"""An MLflow-compatible tracking server over the lab (docs/mlflow.md): unmodified code
that sets MLFLOW_TRACKING_URI to it logs into the lab. Needs `mlopslab[mlflow]`."""
