"""mlopslab.store"""
