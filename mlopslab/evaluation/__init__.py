"""Evaluating ONNX models with ONNX Runtime: scores, fairness, latency, integrity."""
