"""mlopslab.service"""
