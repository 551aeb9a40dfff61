"""mlopslab.core"""
